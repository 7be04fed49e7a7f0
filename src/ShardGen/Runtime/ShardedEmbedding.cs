using System;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

/// <summary>
/// An embedding table on the mesh: a token embedding split by vocabulary rows (device r holds rows
/// [<see cref="Embedding.FirstRow"/>(r), + <see cref="Embedding.Rows"/>(r)), uneven when the vocabulary does not divide),
/// or a position embedding replicated whole. A tied LM head reads the token embedding's shards transposed.
/// </summary>
public sealed class ShardedEmbedding : IShardedLayer
{
    private readonly DeviceAllocations _memory = new();

    private ShardedEmbedding(Embedding info, int devices)
    {
        Info = info;
        Tables = new MatrixView[devices];
    }

    public Embedding Info { get; }

    PlannedLayer IShardedLayer.Layer => Info;

    /// <summary>Tables[rank]: the device's rows [Rows(rank), hidden].</summary>
    public MatrixView[] Tables { get; }

    /// <summary>Uploads each device's rows of <paramref name="source"/>'s table (checked against the plan by the caller).</summary>
    public static ShardedEmbedding Load(DeviceMesh mesh, Embedding info, IWeightSource source)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        var sharded = new ShardedEmbedding(info, mesh.Size);
        try
        {
            var key = new WeightKey(info.Index, -1, RoleOf(info));
            // Rows of a [rows, hidden] table are stored so in a checkpoint too: viewed in place where the source allows.
            bool inPlace = WeightReader.InPlace(source, key) switch
            {
                null => false,
                false => true,
                true => throw new InvalidOperationException($"The embedding table {source.Name(key)} is stored transposed; it cannot be viewed in place."),
            };
            DeviceUploads.ForEach(mesh, rank =>
                sharded.Tables[rank] = inPlace
                    ? WeightReader.View(sharded._memory, mesh.Devices[rank], source, key, info.FirstRow(rank), 0, info.Rows(rank), info.Hidden)
                    : WeightReader.Upload(sharded._memory, mesh.Devices[rank], source, key, info.FirstRow(rank), 0, info.Rows(rank), info.Hidden));
            return sharded;
        }
        catch
        {
            sharded.Dispose();
            throw;
        }
    }

    /// <summary>The logical tensor the table is.</summary>
    public static WeightRole RoleOf(Embedding info) => info.IsVocabParallel ? WeightRole.TokenEmbedding : WeightRole.PositionEmbedding;

    public void Dispose() => _memory.Dispose();
}
