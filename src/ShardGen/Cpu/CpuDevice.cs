using System;
using System.Collections.Generic;
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
    private readonly object _gate = new();
    private readonly CommandRing _queue = new();
    private readonly HashSet<CpuDeviceBuffer> _buffers = new();
    private readonly Thread _worker;
    private readonly KernelThreadTeam? _team;
    private readonly GemmWorkspace[] _workspaces;
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 20_000; // 50 µs
    private readonly bool _spin;
    private int _queued; // _queue.Count, readable without the lock while the worker spins
    private int _pending;
    private Exception? _error;
    private bool _stopping;
    private bool _stopped;

    /// <param name="rank">Position in the mesh.</param>
    /// <param name="threads">Threads for this device's kernels.</param>
    /// <param name="spinBeforeBlocking">
    /// Whether an idle worker spins for up to 50 µs before it sleeps. Kernels and collective steps follow each
    /// other within microseconds, and waking a sleeping thread costs about 100 µs; but spinning only pays when
    /// every worker has a core of its own.
    /// </param>
    internal CpuDevice(int rank, int threads, bool spinBeforeBlocking = false) : base(rank)
    {
        _spin = spinBeforeBlocking;
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "A device needs at least one thread.");
        Threads = threads;
        _workspaces = new GemmWorkspace[threads];
        for (int i = 0; i < threads; i++) _workspaces[i] = new GemmWorkspace();
        if (threads > 1) _team = new KernelThreadTeam(threads, Name);
        _worker = new Thread(WorkerLoop) { IsBackground = true, Name = $"{Name} worker" };
        _worker.Start();
    }

    public override string Name => $"cpu:{Rank}";

    /// <summary>Threads this device's GEMMs are split over (its worker plus private helpers).</summary>
    public int Threads { get; }

    /// <summary>Receive buffer for the collectives this device takes part in.</summary>
    internal CpuScratch Scratch { get; } = new();

    internal bool IsWorkerThread => Thread.CurrentThread == _worker;

    /// <summary>Appends arbitrary work to the queue (tests, tools); kernels use allocation-free commands.</summary>
    internal void Enqueue(Action work) => Enqueue(DeviceCommand.Action(work));

    /// <summary>Appends a command to the queue; it runs after everything enqueued before it.</summary>
    internal void Enqueue(in DeviceCommand command)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            Push(command);
        }
    }

    // Caller holds _gate.
    private void Push(in DeviceCommand command)
    {
        _queue.Push(command);
        Volatile.Write(ref _queued, _queue.Count);
        _pending++;
        Monitor.PulseAll(_gate);
    }

    private void SpinForWork()
    {
        long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
        while (Volatile.Read(ref _queued) == 0 && !Volatile.Read(ref _stopping) && System.Diagnostics.Stopwatch.GetTimestamp() < until)
            Thread.SpinWait(16);
    }

    private void WorkerLoop()
    {
        while (true)
        {
            if (_spin) SpinForWork();
            DeviceCommand command;
            lock (_gate)
            {
                while (_queue.Count == 0 && !_stopping) Monitor.Wait(_gate);
                if (_queue.Count == 0) return;
                _queue.Pop(out command);
                Volatile.Write(ref _queued, _queue.Count);
            }
            try
            {
                Execute(command);
            }
            catch (Exception e)
            {
                lock (_gate) _error ??= e;
            }
            lock (_gate)
            {
                if (--_pending == 0) Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Waits until the queue is empty (without reporting failures).</summary>
    private void WaitIdle()
    {
        if (IsWorkerThread)
            throw new InvalidOperationException($"Device {Name} cannot wait for its own queue from one of its kernels.");
        lock (_gate)
        {
            while (_pending > 0) Monitor.Wait(_gate);
        }
    }

    private void ThrowPendingError()
    {
        Exception? e;
        lock (_gate)
        {
            e = _error;
            _error = null;
        }
        if (e != null) throw new DeviceKernelException(Name, e);
    }

    public override void Synchronize()
    {
        WaitIdle();
        ThrowPendingError();
    }

    public override DeviceBuffer Allocate(int elements)
    {
        CheckAllocate(elements);
        var buffer = new CpuDeviceBuffer(this, elements);
        lock (_gate)
        {
            if (_stopping)
            {
                buffer.Free();
                throw new ObjectDisposedException(Name);
            }
            _buffers.Add(buffer);
        }
        return buffer;
    }

    /// <summary>Called by <see cref="CpuDeviceBuffer.Dispose"/>: frees after the work already queued.</summary>
    internal void ReleaseBuffer(CpuDeviceBuffer buffer)
    {
        lock (_gate)
        {
            if (!_stopping && !IsWorkerThread)
            {
                Push(DeviceCommand.Free(buffer));
                return;
            }
        }
        FreeNow(buffer);
    }

    private void FreeNow(CpuDeviceBuffer buffer)
    {
        lock (_gate) _buffers.Remove(buffer);
        buffer.Free();
    }

    public override void Upload(ReadOnlySpan<float> source, int sourceStride, MatrixView destination)
    {
        CheckUpload(source, sourceStride, destination);
        // Ordered after queued work that may still read the destination.
        WaitIdle();
        float* dst = Pointer(destination);
        fixed (float* src = source)
            Elementwise.Copy(src, sourceStride, dst, destination.Stride, destination.Rows, destination.Cols);
    }

    public override void Download(MatrixView source, Span<float> destination, int destinationStride)
    {
        CheckDownload(source, destination, destinationStride);
        Synchronize();
        float* src = Pointer(source);
        fixed (float* dst = destination)
            Elementwise.Copy(src, source.Stride, dst, destinationStride, source.Rows, source.Cols);
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

    /// <summary>Stops accepting work; the worker drains what is queued, then exits.</summary>
    internal void BeginStop()
    {
        lock (_gate)
        {
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
    }

    public override void Dispose()
    {
        BeginStop();
        lock (_gate)
        {
            if (_stopped) return;
            _stopped = true;
        }
        if (!IsWorkerThread) _worker.Join();
        _team?.Dispose();
        foreach (var w in _workspaces) w.Dispose();
        Scratch.Dispose();
        CpuDeviceBuffer[] left;
        lock (_gate)
        {
            left = new CpuDeviceBuffer[_buffers.Count];
            _buffers.CopyTo(left);
            _buffers.Clear();
        }
        foreach (var buffer in left) buffer.Free();
    }
}
