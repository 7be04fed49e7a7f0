using System;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

/// <summary>A standalone norm (the final norm) on the mesh: its scale, and LayerNorm's shift, replicated.</summary>
public sealed class ShardedNorm : IShardedLayer
{
    private readonly DeviceAllocations _memory = new();

    private ShardedNorm(Norm info, int devices)
    {
        Info = info;
        Scale = new MatrixView[devices];
        Shift = new MatrixView?[devices];
    }

    public Norm Info { get; }

    PlannedLayer IShardedLayer.Layer => Info;

    public MatrixView[] Scale { get; }

    /// <summary>LayerNorm's shift per device; null for RMSNorm.</summary>
    public MatrixView?[] Shift { get; }

    public static ShardedNorm Load(DeviceMesh mesh, Norm info, IWeightSource source)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        var sharded = new ShardedNorm(info, mesh.Size);
        try
        {
            bool shift = info.Kind == NormKind.LayerNorm;
            for (int rank = 0; rank < mesh.Size; rank++)
            {
                var device = mesh.Devices[rank];
                sharded.Scale[rank] = WeightReader.Upload(sharded._memory, device, source, new WeightKey(info.Index, -1, WeightRole.FinalNormScale), 0, 0, 1, info.Hidden);
                sharded.Shift[rank] = WeightReader.Vector(sharded._memory, device, source, new WeightKey(info.Index, -1, WeightRole.FinalNormShift), shift, 0, info.Hidden);
            }
            return sharded;
        }
        catch
        {
            sharded.Dispose();
            throw;
        }
    }

    public void Dispose() => _memory.Dispose();
}
