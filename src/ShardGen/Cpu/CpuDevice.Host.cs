using System;
using ShardGen.Devices;

namespace ShardGen.Cpu;

public sealed unsafe partial class CpuDevice
{
    internal override bool TryHostView(MatrixView view, out Span<float> elements)
    {
        if (view.Device != this) throw new ArgumentException($"The view is on {view.Device.Name}, not on {Name}.", nameof(view));
        // Ordered after queued work that may still read the view, as Upload is.
        _worker.WaitIdle();
        elements = view.Rows == 0 || view.Cols == 0
            ? Span<float>.Empty
            : new Span<float>(CpuDeviceBuffer.Pointer(view), (view.Rows - 1) * view.Stride + view.Cols);
        return true;
    }
}
