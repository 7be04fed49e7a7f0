using ShardGen;

namespace ShardGen.Tests.Models;

// Small models whose features divide by 1, 2, 4 and 8 devices (1D) or q = 1, 2, 3 (2D), so one set of
// models covers every device count the tests run. Each is compiled by the real generator.

/// <summary>Megatron MLP: column-parallel up-projection with GELU, row-parallel down-projection.</summary>
[ShardedModel]
public partial class Mlp
{
    [ColumnParallel(64, 256, Activation = Activation.Gelu)]
    public partial Linear Up { get; }

    [RowParallel(256, 64)]
    public partial Linear Down { get; }
}

/// <summary>Two column-parallel layers: the first's shards must be all-gathered for the second.</summary>
[ShardedModel]
public partial class ColumnColumn
{
    [ColumnParallel(64, 128, Activation = Activation.Relu)]
    public partial Linear First { get; }

    [ColumnParallel(128, 64, Activation = Activation.Tanh)]
    public partial Linear Second { get; }
}

/// <summary>A row-parallel layer first: the host uploads each device its column slice of X.</summary>
[ShardedModel]
public partial class RowFirst
{
    [RowParallel(64, 128, Activation = Activation.Silu)]
    public partial Linear In { get; }

    [ColumnParallel(128, 32, Activation = Activation.Sigmoid)]
    public partial Linear Out { get; }
}

/// <summary>Column → row → row: the middle partial sums are reduce-scattered, not all-reduced.</summary>
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

/// <summary>PyTorch-layout ([out, in]) weights on 1D layers, one of them without a bias.</summary>
[ShardedModel]
public partial class TorchLayoutMlp
{
    [ColumnParallel(32, 128, Activation = Activation.Silu, WeightLayout = WeightLayout.OutIn)]
    public partial Linear Up { get; }

    [RowParallel(128, 32, Bias = false, WeightLayout = WeightLayout.OutIn)]
    public partial Linear Down { get; }
}

/// <summary>One SUMMA layer, [in, out] weight (A·B).</summary>
[ShardedModel]
public partial class Summa
{
    [Summa2D(48, 72, Activation = Activation.Relu)]
    public partial Linear Layer { get; }
}

/// <summary>One SUMMA layer, PyTorch [out, in] weight: computed with A·Bᵀ, never transposed.</summary>
[ShardedModel]
public partial class SummaTorch
{
    [Summa2D(48, 72, Activation = Activation.Gelu, WeightLayout = WeightLayout.OutIn)]
    public partial Linear Layer { get; }
}

/// <summary>1D and 2D mixed: column shards enter the grid, 2D blocks leave it for a row-parallel layer.</summary>
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

/// <summary>Partial sums reduce-scattered into the grid; 2D blocks all-gathered for a column layer.</summary>
[ShardedModel]
public partial class RowIntoGrid
{
    [RowParallel(36, 72, Activation = Activation.Relu)]
    public partial Linear In { get; }

    [Summa2D(72, 36, Bias = false)]
    public partial Linear Grid { get; }

    [ColumnParallel(36, 36, Activation = Activation.Tanh)]
    public partial Linear Out { get; }
}

/// <summary>A model fixed to 4 devices at compile time.</summary>
[ShardedModel(Devices = 4)]
public partial class FixedMlp
{
    [ColumnParallel(32, 64, Activation = Activation.Gelu)]
    public partial Linear Up { get; }

    [RowParallel(64, 32)]
    public partial Linear Down { get; }
}
