using System;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Planning.Steps;
using ShardGen.Runtime;

namespace ShardGen.Tests.Planning;

public sealed class StepCatalogTests
{
    public static TheoryData<PlanStepKind> Kinds()
    {
        var data = new TheoryData<PlanStepKind>();
        foreach (PlanStepKind kind in Enum.GetValues(typeof(PlanStepKind))) data.Add(kind);
        return data;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryKindHasOneTypeWhoseMethodForwardPassImplements(PlanStepKind kind)
    {
        var type = StepCatalog.Of(kind);
        Assert.Equal(kind, type.Kind);
        var map = typeof(ForwardPass).GetInterfaceMap(typeof(IForwardSteps<ShardedTensor<Replicated>, ShardedTensor<ColumnShards>,
            ShardedTensor<TokenShards>, ShardedTensor<HeadShards>, ShardedTensor<PartialSums>, ShardedTensor<Blocks2D>,
            ShardedLinear, ShardedTransformerBlock, float[,]>));
        // One method, or one overload per placement the step reads; the emitter's call fits them all alike.
        var implemented = map.InterfaceMethods.Where(m => m.Name == type.Method).ToArray();
        Assert.True(implemented.Length >= 1, $"{kind}: IForwardSteps has no method named {type.Method}");
        Assert.All(implemented, m => Assert.Equal(implemented[0].GetParameters().Length, m.GetParameters().Length));
        // The call shape the emitter writes matches the method's parameters.
        int expectedParameters = type.Call switch
        {
            StepCall.Upload => 0,
            StepCall.Transition or StepCall.Download => 1,
            StepCall.BlockResidual => 3,
            _ => 2,
        };
        Assert.Equal(expectedParameters, implemented[0].GetParameters().Length);
        Assert.False(string.IsNullOrWhiteSpace(type.Backward.Text), $"{kind} has no backward in words");
    }

    /// <summary>
    /// The typed ForwardPass signatures agree with the catalog: a step's parameter is the C# type of the placement it
    /// reads and its result the type of the placement it writes, so the compiler checks what the catalog states.
    /// Steps that read several placements keep the placement they read (norms) or update it in place.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryStepsCSharpTypesAreItsPlacements(PlanStepKind kind)
    {
        var type = StepCatalog.Of(kind);
        var overloads = typeof(ForwardPass).GetMethods().Where(m => m.Name == type.Method).ToArray();
        Assert.NotEmpty(overloads);
        if (!type.AcceptsAnyInput) Assert.Single(overloads);
        foreach (var method in overloads)
        {
            var parameters = method.GetParameters();
            var read = type.Call == StepCall.Upload ? null : parameters[0].ParameterType;
            if (read is not null && !type.AcceptsAnyInput) Assert.Equal(TypeOf(type.Input), read);
            // Partial sums are never read but by a reduction.
            if (type.AcceptsAnyInput) Assert.NotEqual(typeof(ShardedTensor<PartialSums>), read);
            if (type.Call == StepCall.BlockResidual) Assert.Equal(read, parameters[1].ParameterType);
            if (type.IsInPlace) Assert.Equal(typeof(void), method.ReturnType);
            else if (type.AcceptsAnyInput && type.Output.OnDevices) Assert.Equal(read, method.ReturnType);
            else Assert.Equal(TypeOf(type.Output), method.ReturnType);
        }
    }

    private static Type TypeOf(Placement placement) => placement.Kind switch
    {
        PlacementKind.Host => typeof(float[,]),
        PlacementKind.Replicated => typeof(ShardedTensor<Replicated>),
        PlacementKind.Partial => typeof(ShardedTensor<PartialSums>),
        PlacementKind.Grid2D => typeof(ShardedTensor<Blocks2D>),
        _ => placement.Axis switch
        {
            ShardAxis.Features => typeof(ShardedTensor<ColumnShards>),
            ShardAxis.Tokens => typeof(ShardedTensor<TokenShards>),
            _ => typeof(ShardedTensor<HeadShards>),
        },
    };

    /// <summary>Each derived route is a chain: it starts at the source, each step reads what the one before left, it ends at the target.</summary>
    [Fact]
    public void TransitionsChainFromSourceToTarget()
    {
        var sources = new[] { Placement.Host, Placement.Replicated, Placement.Shard(ShardAxis.Features), Placement.Shard(ShardAxis.Tokens), Placement.Partial, Placement.Grid2D };
        var targets = new[] { Placement.Host, Placement.Replicated, Placement.Shard(ShardAxis.Features), Placement.Shard(ShardAxis.Tokens), Placement.Grid2D };
        foreach (var from in sources)
        foreach (var to in targets)
        {
            if (from.Kind == PlacementKind.Host && to.Kind == PlacementKind.Host) continue;
            var route = Transitions.Between(from, to);
            var at = from;
            foreach (var kind in route)
            {
                var type = StepCatalog.Of(kind);
                Assert.True(type.AcceptsAnyInput ? at.OnDevices : type.Input == at, $"{from} → {to}: {kind} reads {type.Input}, not {at}");
                at = type.Output;
            }
            Assert.True(at == to, $"{from} → {to} ends at {at}: {string.Join(", ", route)}");
            Assert.True(route.Count <= 2, $"{from} → {to} takes {route.Count} steps: {string.Join(", ", route)}");
        }
    }

    /// <summary>The routes the hand-written planner took before placements, pair by pair (the reference).</summary>
    [Theory]
    [InlineData(TensorLayout.PartialSum, TensorLayout.Blocks2D, new[] { PlanStepKind.ReduceScatter, PlanStepKind.ColumnShardsToBlocks })]
    [InlineData(TensorLayout.PartialSum, TensorLayout.Host, new[] { PlanStepKind.AllReduce, PlanStepKind.Download })]
    [InlineData(TensorLayout.PartialSum, TensorLayout.TokenSharded, new[] { PlanStepKind.ReduceScatterTokens })]
    [InlineData(TensorLayout.PartialSum, TensorLayout.ColumnSharded, new[] { PlanStepKind.ReduceScatter })]
    [InlineData(TensorLayout.PartialSum, TensorLayout.Replicated, new[] { PlanStepKind.AllReduce })]
    [InlineData(TensorLayout.TokenSharded, TensorLayout.ColumnSharded, new[] { PlanStepKind.AllGatherTokens, PlanStepKind.SliceColumns })]
    [InlineData(TensorLayout.ColumnSharded, TensorLayout.TokenSharded, new[] { PlanStepKind.AllGather, PlanStepKind.SliceTokens })]
    [InlineData(TensorLayout.Blocks2D, TensorLayout.TokenSharded, new[] { PlanStepKind.BlocksToReplicated, PlanStepKind.SliceTokens })]
    [InlineData(TensorLayout.Blocks2D, TensorLayout.ColumnSharded, new[] { PlanStepKind.BlocksToColumnShards })]
    [InlineData(TensorLayout.Replicated, TensorLayout.Blocks2D, new[] { PlanStepKind.SliceBlocks })]
    [InlineData(TensorLayout.Host, TensorLayout.TokenSharded, new[] { PlanStepKind.UploadTokenShards })]
    [InlineData(TensorLayout.Blocks2D, TensorLayout.Host, new[] { PlanStepKind.Download })]
    public void TransitionsMatchThePairByPairPlanner(TensorLayout from, TensorLayout to, PlanStepKind[] expected) =>
        Assert.Equal(expected, Transitions.Between(Placement.Of(from), Placement.Of(to)));

    [Fact]
    public void PlacementsRoundTripThroughLayouts()
    {
        foreach (TensorLayout layout in Enum.GetValues(typeof(TensorLayout)))
            Assert.Equal(layout, Placement.Of(layout).Layout);
    }
}
