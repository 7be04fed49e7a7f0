using ShardGen;

namespace ShardGen.Tests.Models;

// Transformer blocks sized so 1, 2, 4 and 8 devices all work: hidden 64, 8 heads of 8, MLP 128.

/// <summary>Multi-head attention (8 KV heads), causal, LayerNorm, GELU MLP.</summary>
[ShardedModel]
public partial class MhaBlock
{
    [TransformerBlock(64, 8, FfnHidden = 128)]
    public partial TransformerBlock Block { get; }
}

/// <summary>Grouped-query attention with 2 KV heads, bidirectional, RMSNorm, SiLU MLP, no biases.</summary>
[ShardedModel]
public partial class GqaBlock
{
    [TransformerBlock(64, 8, KvHeads = 2, FfnHidden = 128, Norm = NormKind.RmsNorm, Causal = false, Activation = Activation.Silu, Bias = false)]
    public partial TransformerBlock Block { get; }
}

/// <summary>Multi-query attention (1 KV head, replicated on every device), causal.</summary>
[ShardedModel]
public partial class MqaBlock
{
    [TransformerBlock(64, 8, KvHeads = 1, FfnHidden = 128, NormEpsilon = 1e-6f)]
    public partial TransformerBlock Block { get; }
}

/// <summary>Two stacked blocks and a column-parallel head.</summary>
[ShardedModel]
public partial class TwoBlocks
{
    [TransformerBlock(64, 8, KvHeads = 2, FfnHidden = 128)]
    public partial TransformerBlock First { get; }

    [TransformerBlock(64, 8, KvHeads = 2, FfnHidden = 128, Norm = NormKind.RmsNorm)]
    public partial TransformerBlock Second { get; }

    [ColumnParallel(64, 32)]
    public partial Linear Head { get; }
}

/// <summary>The same two blocks with sequence parallelism: token-sharded residual stream.</summary>
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

/// <summary>One block, sequence parallel, GQA with 1 KV head and no causal mask.</summary>
[ShardedModel(SequenceParallel = true)]
public partial class MqaSequenceParallel
{
    [TransformerBlock(64, 8, KvHeads = 1, FfnHidden = 128, Causal = false, Norm = NormKind.RmsNorm)]
    public partial TransformerBlock Block { get; }
}

/// <summary>A row-parallel layer feeding a sequence-parallel block: its partial sums are reduce-scattered over tokens.</summary>
[ShardedModel(SequenceParallel = true)]
public partial class RowIntoSequenceParallelBlock
{
    [RowParallel(32, 64, Activation = Activation.Relu)]
    public partial Linear In { get; }

    [TransformerBlock(64, 8, KvHeads = 4, FfnHidden = 128)]
    public partial TransformerBlock Block { get; }
}
