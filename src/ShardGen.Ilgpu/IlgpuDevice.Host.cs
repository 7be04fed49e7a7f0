using System;
using System.Threading;
using ILGPU.Runtime;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;

namespace ShardGen.Ilgpu;

// Host transfers. Rows are packed on the caller's thread into pinned host memory, which the worker copies to or
// from the device in one piece (a strided view goes through the device scratch and a copy kernel).
public sealed partial class IlgpuDevice
{
    /// <summary>
    /// The pinned packing array, kept between calls (up to <see cref="MaxKeptHostStagingFloats"/>) so that a steady
    /// stream of Forwards allocates none. A call holds it from packing to unpacking; a caller that finds it
    /// taken, or too small, allocates its own.
    /// </summary>
    private float[]? _hostStaging;

    public override void Upload(ReadOnlySpan<float> source, int sourceStride, MatrixView destination)
    {
        CheckUpload(source, sourceStride, destination);
        int rows = destination.Rows, cols = destination.Cols, n = rows * cols;
        if (n == 0) return;
        var packed = TakeHostStaging(n);
        try
        {
            for (int r = 0; r < rows; r++) source.Slice(r * sourceStride, cols).CopyTo(packed.AsSpan(r * cols, cols));
            Invoke(() =>
            {
                if (destination.IsContiguous)
                {
                    ViewOf(destination).SubView(destination.Offset, n).CopyFromCPU(Stream, ref packed[0], n);
                }
                else
                {
                    var staging = Scratch(n).SubView(0, n);
                    staging.CopyFromCPU(Stream, ref packed[0], n);
                    KernelSet.Copy(Stream, staging, new ViewLayout(0, cols, cols), ViewOf(destination), Layout(destination), rows);
                }
                Stream.Synchronize();
                return 0;
            });
        }
        finally
        {
            KeepHostStaging(packed);
        }
    }

    public override void Download(MatrixView source, Span<float> destination, int destinationStride)
    {
        CheckDownload(source, destination, destinationStride);
        int rows = source.Rows, cols = source.Cols, n = rows * cols;
        if (n == 0)
        {
            Synchronize();
            return;
        }
        var packed = TakeHostStaging(n);
        try
        {
            // One worker round trip: the stream wait that Synchronize would queue runs first, and the copy only without a pending error.
            Invoke(() =>
            {
                if (!StreamIdleWithoutError()) return 0;
                if (source.IsContiguous)
                {
                    ViewOf(source).SubView(source.Offset, n).CopyToCPU(Stream, ref packed[0], n);
                }
                else
                {
                    var staging = Scratch(n).SubView(0, n);
                    KernelSet.Copy(Stream, ViewOf(source), Layout(source), staging, new ViewLayout(0, cols, cols), rows);
                    staging.CopyToCPU(Stream, ref packed[0], n);
                }
                Stream.Synchronize();
                return 0;
            });
            // A kernel's failure is reported before the destination is touched, as Synchronize would.
            _worker.ThrowPendingError();
            for (int r = 0; r < rows; r++) packed.AsSpan(r * cols, cols).CopyTo(destination.Slice(r * destinationStride, cols));
        }
        finally
        {
            KeepHostStaging(packed);
        }
    }

    private float[] TakeHostStaging(int floats)
    {
        var kept = Interlocked.Exchange(ref _hostStaging, null);
        return kept is not null && kept.Length >= floats ? kept : GC.AllocateUninitializedArray<float>(floats, pinned: true);
    }

    /// <summary>
    /// Largest packing array kept between calls (4 Mi floats, 16 MiB): activations of a Forward fit, while a weight
    /// upload (often hundreds of MiB, once) does not pin that much host memory for the device's lifetime.
    /// </summary>
    private const int MaxKeptHostStagingFloats = 4 << 20;

    private void KeepHostStaging(float[] packed)
    {
        if (packed.Length <= MaxKeptHostStagingFloats) Volatile.Write(ref _hostStaging, packed);
    }

    /// <summary>
    /// Worker: waits for the stream; a failure there is kept like a queued kernel's (a sticky CUDA error would also
    /// fail what follows). False when a failure is pending.
    /// </summary>
    private bool StreamIdleWithoutError()
    {
        try
        {
            Stream.Synchronize();
        }
        catch (Exception e)
        {
            _worker.RecordError(e);
        }
        return !_worker.HasError;
    }
}
