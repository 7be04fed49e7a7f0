using ShardGen;

namespace MegatronMlp;

/// <summary>
/// The Megatron MLP: a column-parallel up-projection (each device computes its slice of the 4096 hidden
/// features, GELU applied locally) followed by a row-parallel down-projection (partial sums, one
/// all-reduce). ShardGen generates the rest: see obj/Release/net10.0/generated/.
/// </summary>
[ShardedModel]
public partial class Mlp
{
    [ColumnParallel(1024, 4096, Activation = Activation.Gelu)]
    public partial Linear Up { get; }

    [RowParallel(4096, 1024)]
    public partial Linear Down { get; }
}
