using ShardGen.Devices;

namespace ShardGen.Cpu;

public sealed unsafe partial class CpuDevice
{
    /// <summary>Address of the view's first element (resolved when the work runs).</summary>
    internal static float* Pointer(MatrixView view) => ((CpuDeviceBuffer)view.Buffer).Data + view.Offset;
}
