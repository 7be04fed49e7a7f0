using System;

namespace ShardGen.Training;

/// <summary>
/// The batches of issue 14, reproducible by anyone: step s (from 0) takes B windows; window b starts at
/// ((s·B + b)·L) mod (N − L); its inputs are the L tokens from there and its targets the L tokens one further. Each
/// window is its own sequence. With D data-parallel replicas, replica r takes the windows with b mod D = r, in order.
/// </summary>
public sealed class TrainingBatches
{
    /// <exception cref="TrainingDataException">A non-positive B, L or D, B not divisible by D, or N &lt; L + 1.</exception>
    public TrainingBatches(int tokenCount, int batch, int sequence, int replicas = 1)
    {
        if (batch < 1) throw new TrainingDataException($"The batch (--batch) must be at least 1 window, not {batch}.");
        if (sequence < 1) throw new TrainingDataException($"The window length (--seq) must be at least 1, not {sequence}.");
        if (replicas < 1) throw new TrainingDataException($"The data-parallel replicas (--data-parallel) must be at least 1, not {replicas}.");
        if (batch % replicas != 0)
            throw new TrainingDataException($"--batch {batch} is not divisible by --data-parallel {replicas}: each replica takes the windows b with b mod {replicas} = its index. Use a batch that is a multiple of {replicas}.");
        if (tokenCount < (long)sequence + 1)
            throw new TrainingDataException($"{tokenCount} tokens, fewer than --seq + 1 = {(long)sequence + 1}. Use more data or a smaller --seq.");
        TokenCount = tokenCount;
        Batch = batch;
        Sequence = sequence;
        Replicas = replicas;
    }

    /// <summary>N.</summary>
    public int TokenCount { get; }

    /// <summary>B, windows per step over all replicas.</summary>
    public int Batch { get; }

    /// <summary>L, tokens per window.</summary>
    public int Sequence { get; }

    /// <summary>D.</summary>
    public int Replicas { get; }

    /// <summary>B / D, the windows of one replica.</summary>
    public int WindowsPerReplica => Batch / Replicas;

    /// <summary>Where window <paramref name="window"/> of step <paramref name="step"/> starts (exact for any step).</summary>
    public int Start(long step, int window)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), $"Step {step} is negative.");
        if ((uint)window >= (uint)Batch) throw new ArgumentOutOfRangeException(nameof(window), $"Window {window} is outside [0, {Batch}).");
        Int128 index = (Int128)step * Batch + window;
        return (int)(index * Sequence % (TokenCount - Sequence));
    }

    /// <summary>The k-th window of replica r is window b = k·D + r.</summary>
    public int Window(int replica, int k) => k * Replicas + replica;

    /// <summary>
    /// Replica <paramref name="replica"/>'s inputs and targets for step <paramref name="step"/>: B/D windows of L ids
    /// each, window after window.
    /// </summary>
    public void Fill(TokenData data, long step, int replica, Span<int> inputs, Span<int> targets)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count != TokenCount) throw new ArgumentException($"The data has {data.Count} tokens; these batches were made for {TokenCount}.", nameof(data));
        if ((uint)replica >= (uint)Replicas) throw new ArgumentOutOfRangeException(nameof(replica), $"Replica {replica} is outside [0, {Replicas}).");
        int length = WindowsPerReplica * Sequence;
        if (inputs.Length != length || targets.Length != length)
            throw new ArgumentException($"Inputs and targets take {WindowsPerReplica} windows × {Sequence} = {length} ids each, not {inputs.Length} and {targets.Length}.");
        var ids = data.Ids.AsSpan();
        for (int k = 0; k < WindowsPerReplica; k++)
        {
            int start = Start(step, Window(replica, k));
            ids.Slice(start, Sequence).CopyTo(inputs.Slice(k * Sequence, Sequence));
            ids.Slice(start + 1, Sequence).CopyTo(targets.Slice(k * Sequence, Sequence));
        }
    }
}
