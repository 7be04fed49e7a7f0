using System;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using ShardGen.Cpu;

namespace ShardGen.Runtime;

/// <summary>
/// Runs a layer's per-device upload for every device: in parallel on in-process CPU devices (each reads its own slices
/// and touches its own fresh memory, so loading scales with the cores), in order elsewhere (accelerator contexts and MPI
/// stand-ins). The first failure is rethrown as it was thrown.
/// </summary>
internal static class DeviceUploads
{
    public static void ForEach(DeviceMesh mesh, Action<int> upload)
    {
        if (mesh.Size == 1 || !mesh.Devices.All(d => d is CpuDevice))
        {
            for (int rank = 0; rank < mesh.Size; rank++) upload(rank);
            return;
        }
        try
        {
            Parallel.For(0, mesh.Size, upload);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
