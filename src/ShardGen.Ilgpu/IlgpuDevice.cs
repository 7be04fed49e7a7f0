using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Threading;
using ILGPU;
using ILGPU.Runtime;
using ShardGen.Cpu;
using ShardGen.Devices;
using Device = ShardGen.Devices.Device;
using ShardGen.Ilgpu.Kernels;

namespace ShardGen.Ilgpu;

/// <summary>
/// A device backed by one ILGPU <see cref="Accelerator"/> (a CUDA GPU, an OpenCL device or ILGPU's CPU
/// accelerator). Like the CPU backend, calls are checked at once and queued on a dedicated worker thread, which
/// owns the accelerator (so a CUDA context is always current where it is used) and launches the kernels on the
/// accelerator's default stream; <see cref="Synchronize"/> and <see cref="Download"/> wait for both. A failure
/// while running is kept and rethrown by the next Synchronize or Download as a <see cref="DeviceKernelException"/>.
/// </summary>
public sealed partial class IlgpuDevice : Device
{
    private readonly object _gate = new();
    private readonly Queue<Action> _queue = new();
    private readonly HashSet<IlgpuDeviceBuffer> _buffers = new();
    private readonly Thread _worker;
    private readonly string _name;
    private Accelerator? _accelerator;
    private DeviceKernelSet? _kernels;
    private MemoryBuffer1D<float, Stride1D.Dense>? _scratch;
    private MemoryBuffer1D<float, Stride1D.Dense>? _receive;
    private int _pending;
    private Exception? _error;
    private bool _stopping;
    private bool _stopped;

    internal IlgpuDevice(int rank, string name, Func<Accelerator> createAccelerator) : base(rank)
    {
        _name = name;
        _worker = new Thread(WorkerLoop) { IsBackground = true, Name = $"{name} worker" };
        _worker.Start();
        try
        {
            Invoke(() =>
            {
                _accelerator = createAccelerator();
                _kernels = new DeviceKernelSet(_accelerator);
                AcceleratorName = _accelerator.Name;
                AcceleratorType = _accelerator.AcceleratorType;
                MaxGroupSize = _accelerator.MaxNumThreadsPerGroup;
                return 0;
            });
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>"ilgpu-cpu:0", "ilgpu-cuda:1", …</summary>
    public override string Name => _name;

    /// <summary>The accelerator's own description (the GPU's name, "CPUAccelerator", …).</summary>
    public string AcceleratorName { get; private set; } = "";

    public AcceleratorType AcceleratorType { get; private set; }

    /// <summary>Largest group the accelerator runs; sets the default GEMM group (≤ 16×16) and the row kernels' group.</summary>
    public int MaxGroupSize { get; private set; }

    internal bool IsWorkerThread => Thread.CurrentThread == _worker;

    internal Accelerator Accelerator => _accelerator ?? throw new InvalidOperationException($"{Name} has no accelerator.");

    internal AcceleratorStream Stream => Accelerator.DefaultStream;

    /// <summary>
    /// The GEMM's group shape (threads along N, along M; see <see cref="DeviceKernelSet.GemmGroup"/>). A tuning
    /// hook for the GPU check and the tests: set on the worker, so it applies from the next call on.
    /// </summary>
    internal (int X, int Y) GemmGroup
    {
        get => Invoke(() => KernelSet.GemmGroup);
        set => Invoke(() =>
        {
            KernelSet.GemmGroup = value;
            return 0;
        });
    }

    internal DeviceKernelSet KernelSet => _kernels ?? throw new InvalidOperationException($"{Name} has no kernels.");

    // ------------------------------------------------------------------ queue

    /// <summary>Appends work to the queue; it runs after everything enqueued before it.</summary>
    internal void Enqueue(Action work)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _queue.Enqueue(work);
            _pending++;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Runs <paramref name="work"/> on the worker after the queued work and waits for it; its exception is rethrown here.</summary>
    private T Invoke<T>(Func<T> work)
    {
        if (IsWorkerThread)
            throw new InvalidOperationException($"Device {Name} cannot wait for its own queue from one of its kernels.");
        using var done = new ManualResetEventSlim();
        T result = default!;
        ExceptionDispatchInfo? failure = null;
        Enqueue(() =>
        {
            try
            {
                result = work();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                done.Set();
            }
        });
        done.Wait();
        failure?.Throw();
        return result;
    }

    private void WorkerLoop()
    {
        try
        {
            while (true)
            {
                Action work;
                lock (_gate)
                {
                    while (_queue.Count == 0 && !_stopping) Monitor.Wait(_gate);
                    if (_queue.Count == 0) return;
                    work = _queue.Dequeue();
                }
                try
                {
                    work();
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
        finally
        {
            ReleaseAll();
        }
    }

    /// <summary>Worker exit: frees every buffer, the scratch and the accelerator on the thread that owns them.</summary>
    private void ReleaseAll()
    {
        IlgpuDeviceBuffer[] left;
        lock (_gate)
        {
            left = new IlgpuDeviceBuffer[_buffers.Count];
            _buffers.CopyTo(left);
            _buffers.Clear();
        }
        try
        {
            _accelerator?.Synchronize();
        }
        catch (Exception)
        {
            // Shutting down: a failed kernel was reported (or will never be asked for).
        }
        foreach (var b in left) b.Free();
        _scratch?.Dispose();
        _receive?.Dispose();
        _scratch = null;
        _receive = null;
        _accelerator?.Dispose();
        _accelerator = null;
    }

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
        lock (_gate)
        {
            if (_stopping) return;
        }
        Enqueue(() => Stream.Synchronize());
        WaitIdle();
        ThrowPendingError();
    }

    // ------------------------------------------------------------------ memory

    public override DeviceBuffer Allocate(int elements)
    {
        CheckAllocate(elements);
        var memory = Invoke(() =>
        {
            var m = Accelerator.Allocate1D<float>(Math.Max(elements, 1));
            m.View.MemSetToZero(Stream);
            Stream.Synchronize();
            return m;
        });
        var buffer = new IlgpuDeviceBuffer(this, memory, elements);
        lock (_gate)
        {
            if (!_stopping)
            {
                _buffers.Add(buffer);
                return buffer;
            }
        }
        memory.Dispose();
        throw new ObjectDisposedException(Name);
    }

    /// <summary>Called by <see cref="IlgpuDeviceBuffer.Dispose"/>: frees after the work already queued.</summary>
    internal void ReleaseBuffer(IlgpuDeviceBuffer buffer)
    {
        lock (_gate)
        {
            if (_stopping) return; // the worker frees what is left when it exits
            if (!IsWorkerThread)
            {
                _queue.Enqueue(() => FreeNow(buffer));
                _pending++;
                Monitor.PulseAll(_gate);
                return;
            }
        }
        FreeNow(buffer);
    }

    private void FreeNow(IlgpuDeviceBuffer buffer)
    {
        lock (_gate) _buffers.Remove(buffer);
        // Kernels queued before the free may still be running on the stream.
        Stream.Synchronize();
        buffer.Free();
    }

    /// <summary>Device scratch of at least <paramref name="floats"/> (pack/unpack staging, attention scores). Worker only.</summary>
    internal ArrayView<float> Scratch(long floats) => Grow(ref _scratch, floats);

    /// <summary>The receive slots of the collectives (peers write into them). Grown only by this worker, before a collective's members meet.</summary>
    internal ArrayView<float> ReceiveSlots(long floats) => Grow(ref _receive, floats);

    internal ArrayView<float> ReceiveSlots() => _receive!.View;

    private ArrayView<float> Grow(ref MemoryBuffer1D<float, Stride1D.Dense>? buffer, long floats)
    {
        floats = Math.Max(floats, 1);
        if (buffer == null || buffer.Length < floats)
        {
            Stream.Synchronize();
            long size = Math.Max(floats, buffer == null ? 0 : 2 * buffer.Length);
            buffer?.Dispose();
            buffer = null;
            buffer = Accelerator.Allocate1D<float>(size);
        }
        return buffer.View;
    }

    internal static ArrayView<float> ViewOf(MatrixView m) => ((IlgpuDeviceBuffer)m.Buffer).View;

    internal static Block2D Block(MatrixView m) => new(m.Offset, m.Stride, m.Cols);

    // ------------------------------------------------------------------ kernels

    public override void Gemm(MatrixView a, bool transposeA, MatrixView b, bool transposeB, MatrixView c,
        bool accumulate, MatrixView? bias = null, Activation activation = Activation.None)
    {
        CheckGemm(a, transposeA, b, transposeB, c, bias, activation, out int aK);
        Enqueue(() =>
        {
            var p = new GemmParams
            {
                M = c.Rows, N = c.Cols, K = aK,
                AOffset = a.Offset, Lda = a.Stride, TransposeA = transposeA ? 1 : 0,
                BOffset = b.Offset, Ldb = b.Stride, BBatchDivisor = 1, TransposeB = transposeB ? 1 : 0,
                COffset = c.Offset, Ldc = c.Stride,
                Accumulate = accumulate ? 1 : 0,
                HasBias = bias.HasValue ? 1 : 0, BiasOffset = bias?.Offset ?? 0, Activation = (int)activation,
            };
            KernelSet.Gemm(Stream, p, ViewOf(a), ViewOf(b), ViewOf(c), bias is { } bb ? ViewOf(bb) : ViewOf(c), batch: 1);
        });
    }

    public override void BiasActivation(MatrixView c, MatrixView? bias, Activation activation)
    {
        CheckBiasActivation(c, bias, activation);
        Enqueue(() =>
        {
            var p = new BiasActivationParams
            {
                C = Block(c), HasBias = bias.HasValue ? 1 : 0, BiasOffset = bias?.Offset ?? 0, Activation = (int)activation,
            };
            KernelSet.BiasActivation(Stream, p, ViewOf(c), bias is { } bb ? ViewOf(bb) : ViewOf(c), c.Rows);
        });
    }

    public override void Copy(MatrixView source, MatrixView destination)
    {
        CheckElementwise(source, destination, "Copy");
        Enqueue(() => KernelSet.Copy(Stream, ViewOf(source), Block(source), ViewOf(destination), Block(destination), source.Rows));
    }

    public override void Add(MatrixView source, MatrixView destination)
    {
        CheckElementwise(source, destination, "Add");
        Enqueue(() => KernelSet.Add(Stream, ViewOf(source), Block(source), ViewOf(destination), Block(destination), source.Rows));
    }

    // ------------------------------------------------------------------ lifetime

    /// <summary>Stops accepting work; the worker drains what is queued, frees everything, then exits.</summary>
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
    }
}
