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
}
