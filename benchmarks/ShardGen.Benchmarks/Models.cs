using ShardGen;

namespace ShardGen.Benchmarks.Models;

/// <summary>The Megatron MLP: hidden 4096, 4× expansion (column-parallel up with GELU, row-parallel down).</summary>
[ShardedModel]
public partial class Mlp4096
{
    [ColumnParallel(4096, 16384, Activation = Activation.Gelu)]
    public partial Linear Up { get; }

    [RowParallel(16384, 4096)]
    public partial Linear Down { get; }
}

/// <summary>The sample's MLP (1024 → 4096 → 1024), for the memory suite.</summary>
[ShardedModel]
public partial class Mlp1024
{
    [ColumnParallel(1024, 4096, Activation = Activation.Gelu)]
    public partial Linear Up { get; }

    [RowParallel(4096, 1024)]
    public partial Linear Down { get; }
}

/// <summary>Communication study, 1D: two square layers of N = 64, column-parallel then row-parallel (one all-reduce).</summary>
[ShardedModel]
public partial class Square1D
{
    [ColumnParallel(64, 64, Bias = false)]
    public partial Linear First { get; }

    [RowParallel(64, 64, Bias = false)]
    public partial Linear Second { get; }
}

/// <summary>Communication study, 2D: the same two square layers of N = 64 as SUMMA layers on a q×q grid.</summary>
[ShardedModel]
public partial class Square2D
{
    [Summa2D(64, 64, Bias = false)]
    public partial Linear First { get; }

    [Summa2D(64, 64, Bias = false)]
    public partial Linear Second { get; }
}

/// <summary>A GPT-style block for the speedup suite: hidden 2048, 16 heads, MLP 8192, causal.</summary>
[ShardedModel]
public partial class Block2048
{
    [TransformerBlock(2048, 16, FfnHidden = 8192)]
    public partial TransformerBlock Block { get; }
}

/// <summary>A block the size of the memory suite's MLP (hidden 1024, 8 heads, MLP 4096, causal), for its allocation row.</summary>
[ShardedModel]
public partial class Block1024
{
    [TransformerBlock(1024, 8, FfnHidden = 4096)]
    public partial TransformerBlock Block { get; }
}

/// <summary>GPT-3's MLP (hidden 12288, 4× expansion), for the cost-model suite's plans only (never created on a mesh).</summary>
[ShardedModel]
public partial class Gpt3Mlp
{
    [ColumnParallel(12288, 49152, Activation = Activation.Gelu)]
    public partial Linear Up { get; }

    [RowParallel(49152, 12288)]
    public partial Linear Down { get; }
}

/// <summary>GPT-3's block (hidden 12288, 96 heads, MLP 49152, LayerNorm, causal), for the cost-model suite's plans only.</summary>
[ShardedModel]
public partial class Gpt3Block
{
    [TransformerBlock(12288, 96, FfnHidden = 49152)]
    public partial TransformerBlock Block { get; }
}
