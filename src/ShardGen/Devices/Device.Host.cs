using System;

namespace ShardGen.Devices;

public abstract partial class Device
{
    /// <summary>
    /// For a device whose memory is this process's host memory (an in-process CPU device): <paramref name="view"/>'s
    /// elements, row r at r·Stride, writable once the work queued before has run, so a loader can convert weights
    /// straight into them instead of into a host block that <see cref="Upload"/> then copies. False elsewhere
    /// (accelerators, another rank's stand-in): upload instead. The caller keeps <paramref name="view"/>'s buffer alive
    /// while it writes.
    /// </summary>
    internal virtual bool TryHostView(MatrixView view, out Span<float> elements)
    {
        elements = default;
        return false;
    }

    /// <summary>True when <see cref="TryAdopt"/> gives buffers: the device computes on this process's host memory.</summary>
    internal virtual bool AdoptsHostMemory => false;

    /// <summary>
    /// A buffer over <paramref name="elements"/> floats of this process's memory at <paramref name="data"/> (a checkpoint's
    /// mapped tensor), used in place and never freed by the device: freeing the buffer runs <paramref name="release"/>
    /// instead, after the work queued before it. <paramref name="counted"/> of them are the device's weights in its memory
    /// figures (a strided view spans other devices' columns too). Null on a device that cannot (<see cref="AdoptsHostMemory"/> false).
    /// </summary>
    internal virtual unsafe DeviceBuffer? TryAdopt(float* data, int elements, int counted, Action release) => null;

    /// <summary>As <see cref="TryAdopt"/>, over bfloat16 elements (a BF16 checkpoint's tensor kept as stored): a read-only weight.</summary>
    internal virtual unsafe DeviceBuffer? TryAdoptBFloat16(ushort* data, int elements, int counted, Action release) => null;
}
