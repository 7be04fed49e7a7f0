using ShardGen.Planning;

namespace ShardGen.Tests.Checkpoints;

/// <summary>
/// The layers of the README's two family classes as the generator declares them, every size open (0) unless a test
/// pins one: what <see cref="ShardGen.Checkpoints.ConfigResolver"/> fills from config.json.
/// </summary>
internal static class DeclaredModels
{
    public static LayerSpec[] Llama(int hidden = 0, int heads = 0, int layers = 0, int vocab = 0) =>
    [
        new("Embed", ParallelStrategy.VocabEmbedding, vocab, hidden, false, Activation.None, WeightLayout.InOut),
        new("Layers", ParallelStrategy.TransformerStack, hidden, hidden, false, Activation.Silu, WeightLayout.InOut)
        {
            Block = new TransformerSpec(heads, 0, 0, NormKind.RmsNorm, true, 0) { Layers = layers, Mlp = MlpKind.Gated, Rotary = true },
        },
        new("FinalNorm", ParallelStrategy.FinalNorm, hidden, hidden, false, Activation.None, WeightLayout.InOut) { Norm = NormKind.RmsNorm },
        new("Head", ParallelStrategy.LmHead, hidden, vocab, false, Activation.None, WeightLayout.InOut),
    ];

    public static LayerSpec[] Gpt2() =>
    [
        new("Embed", ParallelStrategy.VocabEmbedding, 0, 0, false, Activation.None, WeightLayout.InOut),
        new("Positions", ParallelStrategy.PositionEmbedding, 0, 0, false, Activation.None, WeightLayout.InOut),
        new("Layers", ParallelStrategy.TransformerStack, 0, 0, true, Activation.GeluTanh, WeightLayout.InOut)
        {
            Block = new TransformerSpec(0, 0, 0, NormKind.LayerNorm, true, 0) { Layers = 0, Mlp = MlpKind.Plain, Rotary = false },
        },
        new("FinalNorm", ParallelStrategy.FinalNorm, 0, 0, false, Activation.None, WeightLayout.InOut) { Norm = NormKind.LayerNorm },
        new("Head", ParallelStrategy.LmHead, 0, 0, false, Activation.None, WeightLayout.InOut),
    ];
}
