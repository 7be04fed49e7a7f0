using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using ShardGen.Collectives;

namespace ShardGen.Runtime;

/// <summary>
/// The state behind a generated model: its mesh, plan and resident layer shards. Generated code holds
/// one and calls it; users meet it through the generated members.
/// </summary>
public sealed partial class ShardedModelCore : IDisposable
{
    private readonly IShardedLayer[] _layers;
    private readonly long[] _bytesBefore;
    private readonly TrafficReport _traffic;
    private long _recordsBefore;
    private ForwardPass? _idlePass;     // reused by the next pass: its tensors and argument arrays with it
    private int[] _starts = { 0, 0 };   // the last pass's sequence starts, reused while they do not change
    private bool _disposed;

    public ShardedModelCore(DeviceMesh mesh, ModelPlan plan, IShardedLayer[] layers)
    {
        Mesh = mesh ?? throw new ArgumentNullException(nameof(mesh));
        Plan = plan ?? throw new ArgumentNullException(nameof(plan));
        _layers = layers ?? throw new ArgumentNullException(nameof(layers));
        int devices = mesh.Stats.Devices;
        _bytesBefore = new long[devices];
        _traffic = new TrafficReport(devices);
    }

    /// <summary>Activation buffers kept between passes.</summary>
    internal ActivationArena Arena { get; } = new();

    public DeviceMesh Mesh { get; }

    public ModelPlan Plan { get; private set; }

    public IReadOnlyList<IShardedLayer> Layers => _layers;

    /// <summary>The shards of layer <paramref name="index"/>, a linear layer.</summary>
    public ShardedLinear Linear(int index) => (ShardedLinear)_layers[index];

    /// <summary>The shards of layer <paramref name="index"/>, a transformer block.</summary>
    public ShardedTransformerBlock Block(int index) => (ShardedTransformerBlock)_layers[index];

    /// <summary>The shards of layer <paramref name="index"/>, an embedding table.</summary>
    public ShardedEmbedding Embedding(int index) => (ShardedEmbedding)_layers[index];

    /// <summary>The blocks of layer <paramref name="index"/>, a transformer stack.</summary>
    public ShardedStack Stack(int index) => (ShardedStack)_layers[index];

    /// <summary>Layer <paramref name="index"/>, a standalone norm.</summary>
    public ShardedNorm Norm(int index) => (ShardedNorm)_layers[index];

    /// <summary>
    /// Collectives measured during the last forward pass; null before the first. In-process meshes refill the same
    /// report (and its lists) after every pass, so it is overwritten by the next Forward: copy what you keep.
    /// </summary>
    public TrafficReport? LastForward { get; private set; }

    /// <summary>
    /// Checks every layer's weights (given in layer order) against the plan and throws one
    /// <see cref="ShardingException"/> listing every problem, before anything is uploaded.
    /// </summary>
    public static void CheckWeights(ModelPlan plan, params LayerWeights?[] weights)
    {
        CheckWeightShapes(plan, weights);
    }

    /// <summary>
    /// <see cref="CheckWeights(ModelPlan, LayerWeights?[])"/>, then the mesh's own check (an MPI mesh compares the
    /// weights of every rank), before anything is uploaded: what generated <c>Create</c> methods call.
    /// </summary>
    public static void CheckWeights(DeviceMesh mesh, ModelPlan plan, params LayerWeights?[] weights)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        CheckWeightShapes(plan, weights);
        mesh.VerifyWeights(plan, weights);
    }

    private static void CheckWeightShapes(ModelPlan plan, LayerWeights?[] weights)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (weights.Length != plan.Layers.Count)
            throw new ArgumentException($"Model '{plan.ModelName}' has {plan.Layers.Count} layers but {weights.Length} weights were given.", nameof(weights));
        var problems = plan.Layers.Select((l, i) => LayerWeights.Check(l.Spec, weights[i])).OfType<string>().ToArray();
        if (problems.Length > 0)
            throw new ShardingException($"Cannot create '{plan.ModelName}': " + string.Join(" ", problems));
    }

    /// <summary>
    /// Starts a forward pass on <paramref name="x"/> ([tokens, in]); checks it first. Passes on one mesh
    /// run one at a time, so each pass's measured traffic is its own.
    /// </summary>
    public ForwardPass BeginForward(float[,] x) => BeginForward(x, null);

    /// <summary>
    /// Starts a forward pass over several sequences packed along the token dimension:
    /// <paramref name="sequenceLengths"/> must add up to x's rows (null: one sequence). Attention never crosses them.
    /// </summary>
    public ForwardPass BeginForward(float[,] x, int[]? sequenceLengths)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(x);
        Mesh.VerifyForwardInput(x, sequenceLengths);
        var first = Plan.Layers[0];
        if (x.GetLength(1) != first.InFeatures || x.GetLength(0) < 1)
            throw new ArgumentException(
                $"{Plan.ModelName}.Forward: x is [{x.GetLength(0)}, {x.GetLength(1)}] but the first layer '{first.Name}' takes {first.InFeatures} input features; " +
                $"pass x as [tokens ≥ 1, {first.InFeatures}].", nameof(x));
        int tokens = x.GetLength(0);
        CheckSequenceLengths(tokens, sequenceLengths);
        Monitor.Enter(Mesh.ExecutionGate);
        try
        {
            var pass = _idlePass ?? new ForwardPass(this);
            _idlePass = null; // a nested pass on this thread gets its own
            pass.Begin(x, SequenceStarts(tokens, sequenceLengths));
            _recordsBefore = Mesh.Stats.RecordPosition;
            Mesh.Stats.CopyBytesSent(_bytesBefore);
            return pass;
        }
        catch
        {
            Monitor.Exit(Mesh.ExecutionGate);
            throw;
        }
    }

    /// <summary>
    /// Starts a language model's pass on <paramref name="tokenIds"/>: packed sequences (<paramref name="sequenceLengths"/>,
    /// null: one), or one sequence continuing <paramref name="cache"/>. Every id, length and the cache are checked first.
    /// </summary>
    public ForwardPass BeginForward(int[] tokenIds, int[]? sequenceLengths, KvCache? cache)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(tokenIds);
        int vocab = Plan.Vocab, tokens = tokenIds.Length;
        if (tokens < 1)
            throw new ArgumentException($"{Plan.ModelName}.Forward: tokenIds is empty; pass at least one token id.", nameof(tokenIds));
        for (int t = 0; t < tokens; t++)
            if ((uint)tokenIds[t] >= (uint)vocab)
                throw new ArgumentException(
                    $"{Plan.ModelName}.Forward: tokenIds[{t}] is {tokenIds[t]}, outside the vocabulary of {vocab} tokens; ids must be in [0, {vocab}).",
                    nameof(tokenIds));
        CheckSequenceLengths(tokens, sequenceLengths);
        Mesh.VerifyForwardInput(tokenIds, sequenceLengths);
        Monitor.Enter(Mesh.ExecutionGate);
        try
        {
            // Under the gate: another thread's pass on the same cache has moved its length on by now.
            var sharded = CheckCache(cache, tokens, sequenceLengths);
            CheckPositions(tokens, sequenceLengths, sharded?.Length ?? 0);
            var pass = _idlePass ?? new ForwardPass(this);
            _idlePass = null;
            pass.Begin(tokenIds, SequenceStarts(tokens, sequenceLengths), sharded);
            _recordsBefore = Mesh.Stats.RecordPosition;
            Mesh.Stats.CopyBytesSent(_bytesBefore);
            return pass;
        }
        catch
        {
            Monitor.Exit(Mesh.ExecutionGate);
            throw;
        }
    }

    /// <summary>A cache for one sequence of up to <paramref name="maxTokens"/> tokens of this model.</summary>
    public KvCache CreateCache(int maxTokens)
    {
        ThrowIfDisposed();
        var stack = _layers.OfType<ShardedStack>().FirstOrDefault()
            ?? throw new InvalidOperationException($"Model '{Plan.ModelName}' has no transformer stack to cache.");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 1);
        return new ShardedKvCache(this, stack.Info, maxTokens);
    }

    private ShardedKvCache? CheckCache(KvCache? cache, int tokens, int[]? sequenceLengths)
    {
        if (cache is null) return null;
        if (cache is not ShardedKvCache sharded || !ReferenceEquals(sharded.Owner, this))
            throw new ArgumentException($"{Plan.ModelName}.Forward: the cache was not made by this model; create one with CreateCache.", nameof(cache));
        if (sharded.IsDisposed)
            throw new ObjectDisposedException(nameof(KvCache), $"{Plan.ModelName}.Forward: the cache was disposed; create a new one with CreateCache.");
        if (sequenceLengths is { Length: > 1 })
            throw new ArgumentException($"{Plan.ModelName}.Forward: a KV cache holds one sequence, but {sequenceLengths.Length} packed sequences were given.", nameof(sequenceLengths));
        if (sharded.Length + tokens > sharded.MaxTokens)
            throw new ArgumentException(
                $"{Plan.ModelName}.Forward: the cache holds {sharded.Length} of at most {sharded.MaxTokens} tokens, so {tokens} more do not fit; " +
                "create a larger cache with CreateCache(maxTokens).", nameof(cache));
        return sharded;
    }

    // Learned position embeddings end at their table's rows.
    private void CheckPositions(int tokens, int[]? sequenceLengths, int offset)
    {
        // A loop, not LINQ: every pass checks here, and a steady-state pass allocates nothing.
        Embedding? positions = null;
        var layers = Plan.Layers;
        for (int i = 0; i < layers.Count && positions is null; i++)
            if (layers[i] is Embedding { IsVocabParallel: false } table) positions = table;
        if (positions is null) return;
        int longest = sequenceLengths is null ? tokens : sequenceLengths.Max();
        if (offset + longest > positions.TableRows)
            throw new ArgumentException(
                $"{Plan.ModelName}.Forward: a sequence reaches position {offset + longest - 1}, but '{positions.Name}' has {positions.TableRows} positions; " +
                $"keep each sequence (with what the cache holds) to at most {positions.TableRows} tokens.", nameof(sequenceLengths));
    }

    /// <summary>
    /// Names what the user holds: the model's own class (not this core) and, when the mesh went first, the mesh.
    /// </summary>
    private void ThrowIfDisposed()
    {
        string model = Plan.ModelName;
        if (_disposed)
            throw new ObjectDisposedException(model, $"This {model} was disposed and its device shards freed; create a new one with {model}.Create(mesh, weights).");
        if (Mesh.IsDisposed)
            throw new ObjectDisposedException(model,
                $"The mesh this {model} was created on ({Mesh.GetType().Name} of {Mesh.Size} devices) was disposed; dispose the {model} before its mesh, " +
                $"or create it again on a live mesh with {model}.Create(mesh, weights).");
    }

    // The parameter is named after the generated Forward's, so the exception names what the user passed.
    private void CheckSequenceLengths(int tokens, int[]? sequenceLengths)
    {
        if (sequenceLengths is null) return;
        long sum = 0;
        for (int s = 0; s < sequenceLengths.Length; s++)
        {
            if (sequenceLengths[s] < 1)
                throw new ArgumentException(
                    $"{Plan.ModelName}.Forward: sequenceLengths[{s}] is {sequenceLengths[s]}; every sequence needs at least one token.", nameof(sequenceLengths));
            sum += sequenceLengths[s];
        }
        if (sequenceLengths.Length == 0 || sum != tokens)
            throw new ArgumentException(
                $"{Plan.ModelName}.Forward: sequenceLengths add up to {sum} but x has {tokens} tokens; they must be equal (one length per packed sequence, in order).",
                nameof(sequenceLengths));
    }

    /// <summary>The sequence starts of checked lengths: the last pass's array when they are the same (it is never written).</summary>
    private int[] SequenceStarts(int tokens, int[]? lengths)
    {
        int count = lengths?.Length ?? 1;
        bool same = _starts.Length == count + 1 && _starts[count] == tokens;
        for (int s = 0; same && lengths != null && s < count; s++) same = _starts[s + 1] - _starts[s] == lengths[s];
        if (same) return _starts;
        var starts = new int[count + 1];
        for (int s = 0; s < count; s++) starts[s + 1] = starts[s] + (lengths?[s] ?? tokens);
        return _starts = starts;
    }

    /// <param name="pass">The pass that ends; the next pass reuses it.</param>
    /// <param name="completed">True when the pass reached its download: only then may the mesh complete the figures
    /// with other processes (a pass that failed half-way must not start another collective).</param>
    internal void EndForward(ForwardPass pass, bool completed)
    {
        try
        {
            _traffic.Measure(Mesh.Stats, _recordsBefore, _bytesBefore);
            LastForward = completed ? Mesh.CompleteTraffic(_traffic) : _traffic;
        }
        finally
        {
            _idlePass = pass;
            Monitor.Exit(Mesh.ExecutionGate);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Arena.Dispose();
        _training?.Dispose();
        DisposeLinearGradients();
        DisposeBlockGradients();
        // The head goes before the embedding whose rows a tied head reads.
        for (int i = _layers.Length - 1; i >= 0; i--) _layers[i]?.Dispose();
    }
}
