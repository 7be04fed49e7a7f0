using System;
using ShardGen.Devices;

namespace ShardGen.Mpi;

/// <summary>
/// The stand-in, in this process, of a device that another MPI rank owns. Every rank runs the same generated code
/// over all P devices; on a remote device that code does nothing: its buffers hold no memory (only their length, so
/// shapes still check), its kernels and uploads are no-ops, and the collectives skip it (its own rank runs them).
/// </summary>
public sealed class RemoteDevice : Device
{
    internal RemoteDevice(int rank) : base(rank)
    {
    }

    public override bool IsLocal => false;

    public override string Name => $"mpi rank {Rank} (remote)";

    public override DeviceBuffer Allocate(int elements)
    {
        CheckAllocate(elements);
        return new RemoteBuffer(this, elements);
    }

    /// <summary>Nothing to do: rank <see cref="Device.Rank"/> uploads its own copy.</summary>
    public override void Upload(ReadOnlySpan<float> source, int sourceStride, MatrixView destination) => CheckView(destination);

    public override void Download(MatrixView source, Span<float> destination, int destinationStride) =>
        throw new InvalidOperationException(
            $"{Name}: its data lives in MPI rank {Rank}, not in this process; results reach the host through the mesh (DownloadToHost), which gathers them over MPI.");

    public override void Gemm(MatrixView a, bool transposeA, MatrixView b, bool transposeB, MatrixView c, bool accumulate,
        MatrixView? bias = null, Activation activation = Activation.None) => CheckView(c);

    public override void BiasActivation(MatrixView c, MatrixView? bias, Activation activation) => CheckView(c);

    public override void Copy(MatrixView source, MatrixView destination) => CheckView(destination);

    public override void Add(MatrixView source, MatrixView destination) => CheckView(destination);

    public override void Normalize(MatrixView x, MatrixView y, NormKind kind, MatrixView gamma, MatrixView? beta, float epsilon) => CheckView(y);

    public override void Attention(MatrixView qkv, MatrixView output, AttentionShape shape) => CheckView(output);

    public override void Gather(int[] ids, int firstRow, MatrixView table, MatrixView output) => CheckView(output);

    public override void Rotary(MatrixView x, int heads, int headDim, int[] positions, float theta) => CheckView(x);

    public override void GatedActivation(MatrixView gateUp, MatrixView output, Activation activation) => CheckView(output);

    public override void Attention(MatrixView qkv, MatrixView output, AttentionShape shape, MatrixView keyCache,
        MatrixView valueCache, int cachedTokens) => CheckView(output);

    public override void NormalizeBackward(MatrixView x, MatrixView dy, NormKind kind, MatrixView gamma, float epsilon,
        MatrixView dx, MatrixView dGamma, MatrixView? dBeta) => CheckView(dx);

    public override void BiasGradient(MatrixView dy, MatrixView dBias) => CheckView(dBias);

    public override void ActivationBackward(MatrixView z, MatrixView dy, MatrixView dz, Activation activation) => CheckView(dz);

    public override void GatedActivationBackward(MatrixView gateUp, MatrixView dOutput, MatrixView dGateUp, Activation activation) => CheckView(dGateUp);

    public override void RotaryBackward(MatrixView dx, int heads, int headDim, int[] positions, float theta) => CheckView(dx);

    public override void AttentionBackward(MatrixView qkv, MatrixView dOutput, MatrixView dQkv, AttentionShape shape) => CheckView(dQkv);

    public override void ScatterAddRows(int[] ids, int firstRow, MatrixView dOutput, MatrixView dTable) => CheckView(dTable);

    public override void LogitStatistics(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax, MatrixView targetLogit) => CheckView(rowMax);

    public override void LogitSumExp(MatrixView logits, MatrixView rowMax, MatrixView sumExp) => CheckView(sumExp);

    public override void CrossEntropyGradient(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax,
        MatrixView sumExp, float scale, MatrixView dLogits) => CheckView(dLogits);

    public override void SgdStep(MatrixView w, MatrixView g, float learningRate) => CheckView(w);

    public override void AdamWStep(MatrixView w, MatrixView g, MatrixView m, MatrixView v, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, int step) => CheckView(w);

    public override void SumOfSquares(MatrixView g, MatrixView result) => CheckView(result);

    public override void Scale(MatrixView g, float factor) => CheckView(g);

    public override void Zero(MatrixView x) => CheckView(x);

    public override void Synchronize()
    {
    }

    public override void Dispose()
    {
    }

    private void CheckView(MatrixView view)
    {
        if (view.Buffer is not RemoteBuffer || !ReferenceEquals(view.Buffer.Device, this))
            throw new ArgumentException($"{view} is not a buffer of {Name}.", nameof(view));
    }
}

/// <summary>A buffer of a <see cref="RemoteDevice"/>: a length and no memory.</summary>
public sealed class RemoteBuffer : DeviceBuffer
{
    private bool _disposed;

    internal RemoteBuffer(RemoteDevice device, int length) : base(device, length)
    {
    }

    public override bool IsDisposed => _disposed;

    public override void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        CountRelease();
    }
}
