using ShardGen;

namespace ShardGen.Mpi.TestHost;

// Small models (features divide by 1, 2 and 4 devices; 2D ones by q = 1, 2), compiled by the real generator: the same
// generated code runs on the in-process mesh and on the MPI mesh.

/// <summary>Megatron MLP: column-parallel with GELU, then row-parallel (one all-reduce).</summary>
[ShardedModel]
public partial class Mlp
{
    [ColumnParallel(64, 256, Activation = Activation.Gelu)]
    public partial Linear Up { get; }

    [RowParallel(256, 64)]
    public partial Linear Down { get; }
}

/// <summary>Column then column: an all-gather of strided column shards.</summary>
[ShardedModel]
public partial class ColumnColumn
{
    [ColumnParallel(64, 128, Activation = Activation.Relu)]
    public partial Linear First { get; }

    [ColumnParallel(128, 64, Activation = Activation.Tanh)]
    public partial Linear Second { get; }
}

/// <summary>Column → row → row: a reduce-scatter of column blocks.</summary>
[ShardedModel]
public partial class ThreeLayer
{
    [ColumnParallel(48, 96, Activation = Activation.GeluTanh)]
    public partial Linear A { get; }

    [RowParallel(96, 48, Activation = Activation.Tanh)]
    public partial Linear B { get; }

    [RowParallel(48, 24, Activation = Activation.Relu)]
    public partial Linear C { get; }
}

/// <summary>One SUMMA layer: broadcasts along grid rows and columns.</summary>
[ShardedModel]
public partial class Summa
{
    [Summa2D(48, 72, Activation = Activation.Relu)]
    public partial Linear Layer { get; }
}

/// <summary>SUMMA A·Bᵀ ([out, in] weight): broadcasts down grid columns, reduces along grid rows.</summary>
[ShardedModel]
public partial class SummaTorch
{
    [Summa2D(48, 72, Activation = Activation.Gelu, WeightLayout = WeightLayout.OutIn)]
    public partial Linear Layer { get; }
}

/// <summary>1D and 2D mixed: all-gathers inside grid columns to enter and leave the grid.</summary>
[ShardedModel]
public partial class Mixed
{
    [ColumnParallel(36, 144, Activation = Activation.Gelu)]
    public partial Linear Up { get; }

    [Summa2D(144, 72, Activation = Activation.Silu)]
    public partial Linear Mid { get; }

    [RowParallel(72, 36)]
    public partial Linear Down { get; }
}

/// <summary>Two transformer blocks and a head with sequence parallelism (token-sharded residual stream).</summary>
[ShardedModel(SequenceParallel = true)]
public partial class TwoBlocksSequenceParallel
{
    [TransformerBlock(64, 8, KvHeads = 2, FfnHidden = 128)]
    public partial TransformerBlock First { get; }

    [TransformerBlock(64, 8, KvHeads = 2, FfnHidden = 128, Norm = NormKind.RmsNorm)]
    public partial TransformerBlock Second { get; }

    [ColumnParallel(64, 32)]
    public partial Linear Head { get; }
}

/// <summary>A transformer block without sequence parallelism (two all-reduces).</summary>
[ShardedModel]
public partial class GqaBlock
{
    [TransformerBlock(64, 8, KvHeads = 2, FfnHidden = 128, Norm = NormKind.RmsNorm, Causal = false, Activation = Activation.Silu, Bias = false)]
    public partial TransformerBlock Block { get; }
}
