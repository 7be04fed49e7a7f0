using System.IO;
using System.Linq;
using ShardGen.Collectives;
using ShardGen.Planning;
using ShardGen.Tests.LanguageModel;

namespace ShardGen.Tests.Planning;

/// <summary>
/// <c>model.Plan</c>'s backward figures against the textbook counts worked out here by hand: a transformer block costs two
/// all-reduces of [T, d] forward and two backward (Megatron's f before QKV and MLP up), the LM head one more (its
/// dX), the vocab-parallel loss an all-gather of the row maxima [T, P] and an all-reduce of [T, 2]; under sequence
/// parallelism the conjugates are reduce-scatters and all-gathers, plus one all-reduce per replicated parameter.
/// </summary>
public sealed class BackwardPlanTests
{
    private const int Hidden = 48, Blocks = 2, Positions = 64;

    private static long AllReduce(int p, long n) => 2L * (p - 1) * n * 4;

    private static long Gather(int p, long n) => (long)(p - 1) * n * 4;

    [Theory]
    [InlineData(2, 7)]
    [InlineData(4, 13)]
    [InlineData(3, 1)]
    public void ReplicatedStreamCostsTwoAllReducesPerBlockBackwardPlusTheHeadsAndTheLoss(int p, int t)
    {
        var plan = TinyGpt2.PlanFor(p, t);
        Assert.True(plan.HasBackward);
        Assert.Equal(2 * Blocks + 1 + 1, plan.PredictedBackwardCalls(CollectiveKind.AllReduce));
        Assert.Equal(1, plan.PredictedBackwardCalls(CollectiveKind.AllGather));
        Assert.Equal(0, plan.PredictedBackwardCalls(CollectiveKind.ReduceScatter));
        long expected = (2 * Blocks + 1) * AllReduce(p, (long)t * Hidden) + Gather(p, (long)t * p) + AllReduce(p, 2L * t);
        Assert.Equal(expected, plan.PredictedBackwardTotalBytes(t));
        Assert.Equal((double)expected / p, plan.PredictedBackwardBytesPerDevice(t));
        // The forward: two all-reduces per block and the embedding's; the backward's block traffic equals it.
        Assert.Equal(2 * Blocks + 1, plan.PredictedCalls(CollectiveKind.AllReduce));
    }

    [Theory]
    [InlineData(2, 9)]
    [InlineData(4, 6)]
    public void SequenceParallelConjugatesAreReduceScattersAndAllGathersPlusTheReplicatedParameters(int p, int t)
    {
        var plan = TinyGpt2SequenceParallel.PlanFor(p, t);
        // Per block: two all-gathers forward → two reduce-scatters backward and the other way round.
        Assert.Equal(2 * Blocks + 1, plan.PredictedBackwardCalls(CollectiveKind.ReduceScatter));   // + the head's input gather
        Assert.Equal(2 * Blocks + 1 + 1, plan.PredictedBackwardCalls(CollectiveKind.AllGather));   // + the embedding's, + the loss maxima
        // LayerNorm scale and shift of two norms and two residual biases per block; the final norm's two; the position table.
        int parameters = Blocks * (2 * 2 + 2) + 2 + 1;
        Assert.Equal(parameters + 1, plan.PredictedBackwardCalls(CollectiveKind.AllReduce));
        long activations = (2 * Blocks + 1 + 2 * Blocks + 1) * Gather(p, (long)t * Hidden);
        long replicated = (Blocks * 6 + 2) * AllReduce(p, Hidden) + AllReduce(p, (long)Positions * Hidden);
        long loss = Gather(p, (long)t * p) + AllReduce(p, 2L * t);
        Assert.Equal(activations + replicated + loss, plan.PredictedBackwardTotalBytes(t));
    }

    [Fact]
    public void PlanTextListsTheBackwardNextToTheForward()
    {
        var plan = TinyLlama.PlanFor(2, 16);
        string text = plan.ToString();
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "shardgen-backward-plan.txt"), text);
        int forward = text.IndexOf("per forward:"), backward = text.IndexOf("Backward (ForwardBackward");
        Assert.True(forward > 0 && backward > forward, text);
        Assert.Contains("per backward: 6 all-reduces, 1 all-gather;", text);
        Assert.Contains($"{plan.PredictedBackwardBytesPerDevice(16):N0} B per device", text);
        Assert.Contains("Megatron's f", text);
        Assert.Contains("identity (Megatron's g)", text);
        // Every backward step is listed, from the last forward step to the first.
        var numbers = text.Split('\n').Where(l => l.Contains("Backward of step "))
            .Select(l => int.Parse(l.Split("Backward of step ")[1].Split(' ', ':')[0])).ToList();
        Assert.Equal(Enumerable.Range(1, plan.Steps.Count).Reverse(), numbers);
    }

    /// <summary>A float model's generated Backward is in its plan: one all-reduce of dX [T, 64] for the Megatron MLP (Megatron's f).</summary>
    [Fact]
    public void FloatModelsShowTheirBackward()
    {
        var plan = ShardGen.Tests.Models.Mlp.PlanFor(2);
        Assert.True(plan.HasBackward);
        Assert.Equal(PlanCost.RingAllReduce(2, 8L * 64), plan.PredictedBackwardTotalBytes(8));
        Assert.Equal(1, plan.PredictedBackwardCalls(CollectiveKind.AllReduce));
        Assert.Contains("Backward", plan.ToString());
    }

    /// <summary>
    /// A float model with a transformer block has a Backward (its blocks' gradient twins are split like their weights), in
    /// the plan as in the source, with Gradients returning each layer's own kind; so does one mixing the grid with 1D layers.
    /// </summary>
    [Fact]
    public void FloatModelsWithABlockHaveABackward()
    {
        var plan = ShardGen.Tests.Models.RowIntoSequenceParallelBlock.PlanFor(4);
        Assert.True(plan.HasBackward);
        Assert.True(plan.PredictedBackwardTotalBytes(8) > 0);
        Assert.Contains("Backward", plan.ToString());
        // Packed sequences as Forward takes them, and one sequence.
        Assert.NotNull(typeof(ShardGen.Tests.Models.RowIntoSequenceParallelBlock).GetMethod("Backward", [typeof(float[,]), typeof(float[,]), typeof(int[])]));
        Assert.NotNull(typeof(ShardGen.Tests.Models.RowIntoSequenceParallelBlock).GetMethod("Backward", [typeof(float[,]), typeof(float[,])]));
        Assert.Equal(typeof(LayerWeights), typeof(ShardGen.Tests.Models.MhaBlock).GetMethod("Gradients")!.ReturnType);
        Assert.Equal(typeof(LinearWeights), typeof(ShardGen.Tests.Models.Mixed).GetMethod("Gradients")!.ReturnType);
        Assert.True(ShardGen.Tests.Models.Mixed.PlanFor(4).HasBackward);
        Assert.NotNull(typeof(ShardGen.Tests.Models.Mixed).GetMethod("Backward"));
        Assert.NotNull(typeof(ShardGen.Tests.Models.RowIntoGrid).GetMethod("Backward"));
    }
}
