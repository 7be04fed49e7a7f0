using ShardGen;

namespace TransformerBlockSample;

/// <summary>A GPT-style block: 8 query heads sharing 2 key/value heads (GQA), RMSNorm, causal, 4× MLP.</summary>
[ShardedModel]
public partial class GptBlock
{
    [TransformerBlock(256, 8, KvHeads = 2, FfnHidden = 1024, Norm = NormKind.RmsNorm)]
    public partial TransformerBlock Block { get; }
}

/// <summary>The same block with sequence parallelism: the residual stream stays sharded by tokens.</summary>
[ShardedModel(SequenceParallel = true)]
public partial class GptBlockSequenceParallel
{
    [TransformerBlock(256, 8, KvHeads = 2, FfnHidden = 1024, Norm = NormKind.RmsNorm)]
    public partial TransformerBlock Block { get; }
}
