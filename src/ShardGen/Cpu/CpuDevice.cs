using System;
using System.Threading;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

/// <summary>
/// A CPU device: owns its memory and runs its kernels, in order, on one dedicated worker thread fed by a
/// FIFO queue (a CUDA stream in miniature). Arguments are checked when a call is enqueued; a failure while
/// running is kept and rethrown by the next <see cref="Synchronize"/> or <see cref="Download"/>. The queue holds
/// <see cref="DeviceCommand"/> structs in a ring, so enqueuing a kernel allocates nothing once the ring has grown.
/// </summary>
public sealed unsafe partial class CpuDevice : Device
{
    private readonly CpuWorker _worker;
    private readonly WorkerLifetime _lifetime;

    /// <param name="rank">Position in the mesh.</param>
    /// <param name="threads">Threads for this device's kernels.</param>
    /// <param name="spinBeforeBlocking">
    /// Whether an idle worker spins for up to 50 µs before it sleeps. Kernels and collective steps follow each
    /// other within microseconds, and waking a sleeping thread costs about 100 µs; but spinning only pays when
    /// every worker has a core of its own.
    /// </param>
    internal CpuDevice(int rank, int threads, bool spinBeforeBlocking = false) : base(rank)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "A device needs at least one thread.");
        Threads = threads;
        _worker = new CpuWorker(Name, threads, spinBeforeBlocking);
        _lifetime = new WorkerLifetime(_worker);
    }

    public override string Name => $"cpu:{Rank}";

    /// <summary>Threads this device's GEMMs are split over (its worker plus private helpers).</summary>
    public int Threads { get; }

    internal bool IsWorkerThread => _worker.IsCurrentThread;

    /// <summary>Every thread this device started: its worker and GEMM helpers (tests check that they end).</summary>
    internal System.Threading.Thread[] StartedThreads => _worker.AllThreads;

    /// <summary>Appends arbitrary work to the queue (tests, tools); kernels use allocation-free commands.</summary>
    internal void Enqueue(Action work) => Enqueue(DeviceCommand.Action(work));

    /// <summary>Appends a command to the queue; it runs after everything enqueued before it.</summary>
    internal void Enqueue(in DeviceCommand command) => _worker.Enqueue(command);

    public override void Synchronize()
    {
        _worker.WaitIdle();
        _worker.ThrowPendingError();
    }

    public override DeviceBuffer Allocate(int elements)
    {
        CheckAllocate(elements);
        if (_worker.IsStopping) throw new ObjectDisposedException(Name, $"Device {Name} was disposed (its mesh was disposed).");
        var allocation = new NativeAllocation(elements);
        if (!_worker.Memory.TryAdd(allocation)) throw new ObjectDisposedException(Name, $"Device {Name} was disposed (its mesh was disposed).");
        return new CpuDeviceBuffer(this, allocation, _worker.Memory, elements);
    }

    /// <summary>Called by <see cref="CpuDeviceBuffer.Dispose"/>: frees after the work already queued.</summary>
    internal void ReleaseBuffer(CpuDeviceBuffer buffer)
    {
        // On the worker itself (a kernel freeing a buffer) the queue before it has run: free now. After shutdown the
        // worker freed everything already; Free is idempotent.
        if (_worker.IsCurrentThread || !_worker.TryEnqueue(DeviceCommand.Free(buffer.Allocation))) _worker.Memory.Free(buffer.Allocation);
    }

    public override void Upload(ReadOnlySpan<float> source, int sourceStride, MatrixView destination)
    {
        CheckUpload(source, sourceStride, destination);
        // Ordered after queued work that may still read the destination.
        _worker.WaitIdle();
        float* dst = CpuDeviceBuffer.Pointer(destination);
        fixed (float* src = source)
            Elementwise.Copy(src, sourceStride, dst, destination.Stride, destination.Rows, destination.Cols);
        // The raw pointer does not keep the buffer alive: a buffer dropped mid-copy must not be freed by its finalizer.
        GC.KeepAlive(destination.Buffer);
    }

    public override void Download(MatrixView source, Span<float> destination, int destinationStride)
    {
        CheckDownload(source, destination, destinationStride);
        Synchronize();
        fixed (float* dst = destination)
        {
            if (CpuDeviceBuffer.IsBFloat16(source))
                BFloat16.Widen(CpuDeviceBuffer.BFloat16Pointer(source), source.Stride, dst, destinationStride, source.Rows, source.Cols);
            else Elementwise.Copy(CpuDeviceBuffer.Pointer(source), source.Stride, dst, destinationStride, source.Rows, source.Cols);
        }
        GC.KeepAlive(source.Buffer);
    }

    public override void Gemm(MatrixView a, bool transposeA, MatrixView b, bool transposeB, MatrixView c,
        bool accumulate, MatrixView? bias = null, Activation activation = Activation.None)
    {
        // k is worked out again when the command runs.
        CheckGemm(a, transposeA, b, transposeB, c, bias, activation, out _);
        Enqueue(DeviceCommand.Gemm(a, transposeA, b, transposeB, c, accumulate, bias, activation));
    }

    public override void BiasActivation(MatrixView c, MatrixView? bias, Activation activation)
    {
        CheckBiasActivation(c, bias, activation);
        Enqueue(DeviceCommand.BiasActivation(c, bias, activation));
    }

    public override void Copy(MatrixView source, MatrixView destination)
    {
        CheckElementwise(source, destination, "Copy");
        Enqueue(DeviceCommand.Elementwise(CommandKind.Copy, source, destination));
    }

    public override void Add(MatrixView source, MatrixView destination)
    {
        CheckElementwise(source, destination, "Add");
        Enqueue(DeviceCommand.Elementwise(CommandKind.Add, source, destination));
    }

    /// <summary>Stops accepting work; the worker drains what is queued, frees everything, then exits.</summary>
    internal void BeginStop() => _worker.BeginStop();

    public override void Dispose()
    {
        if (_worker.Stop()) _lifetime.Disown();
    }
}
