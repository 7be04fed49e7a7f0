using ShardGen;

namespace ShardGen.GpuCheck;

/// <summary>A Megatron MLP (column-parallel up with GELU, row-parallel down): one all-reduce per forward.</summary>
[ShardedModel]
public partial class CheckMlp
{
    [ColumnParallel(1024, 4096, Activation = Activation.Gelu)]
    public partial Linear Up { get; }

    [RowParallel(4096, 1024)]
    public partial Linear Down { get; }
}
