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

    internal override bool AdoptsHostMemory => true;

    internal override DeviceBuffer? TryAdopt(float* data, int elements, int counted, Action release) =>
        Adopt(data, elements, counted, release, ElementType.Float32);

    internal override DeviceBuffer? TryAdoptBFloat16(ushort* data, int elements, int counted, Action release) =>
        Adopt((float*)data, elements, counted, release, ElementType.BFloat16);

    private CpuDeviceBuffer Adopt(float* data, int elements, int counted, Action release, ElementType element)
    {
        CheckAllocate(elements);
        if (_worker.IsStopping) throw new ObjectDisposedException(Name, $"Device {Name} was disposed (its mesh was disposed).");
        var allocation = new NativeAllocation(data, release);
        if (!_worker.Memory.TryAdd(allocation)) throw new ObjectDisposedException(Name, $"Device {Name} was disposed (its mesh was disposed).");
        return new CpuDeviceBuffer(this, allocation, _worker.Memory, elements, counted, element);
    }
}
