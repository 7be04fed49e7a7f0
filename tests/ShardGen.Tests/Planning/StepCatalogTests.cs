using System;
using System.Linq;
using ShardGen.Planning;
using ShardGen.Planning.Steps;
using ShardGen.Runtime;

namespace ShardGen.Tests.Planning;

public sealed class StepCatalogTests
{
    public static TheoryData<Type> Kinds()
    {
        var data = new TheoryData<Type>();
        foreach (var kind in StepCatalog.Kinds) data.Add(kind);
        return data;
    }

    /// <summary>The catalog finds every concrete step class by itself: nothing to list when a kind is added.</summary>
    [Fact]
    public void TheCatalogHoldsEveryConcreteStepClass()
    {
        var classes = typeof(StepType).Assembly.GetTypes().Where(t => !t.IsAbstract && typeof(StepType).IsAssignableFrom(t)).ToArray();
        Assert.Equal(classes.OrderBy(t => t.Name), StepCatalog.Kinds.OrderBy(t => t.Name));
        Assert.Equal(2, StepCatalog.Variants(typeof(AllGather)).Length);
        Assert.Equal(2, StepCatalog.Variants(typeof(ReduceScatter)).Length);
        Assert.Equal(3, StepCatalog.Variants(typeof(Slice)).Length);
        Assert.Same(StepCatalog.Get<MlpUp>(), StepCatalog.Get<MlpUp>());
        Assert.Equal(ShardAxis.Tokens, StepCatalog.Get<AllGather>(Placement.TokenShards, Placement.Replicated).Axis);
        var ambiguous = Assert.Throws<InvalidOperationException>(() => StepCatalog.Get<AllGather>());
        Assert.Contains("AllGather", ambiguous.Message);
        var missing = Assert.Throws<InvalidOperationException>(() => StepCatalog.Get<Slice>(Placement.Partial, Placement.Replicated));
        Assert.Contains("no catalog type moving partial sums to replicated", missing.Message);
    }

    /// <summary>
    /// Regrid's figures follow from its two placements, counted here ring by ring: inside each of the q grid columns a
    /// ring all-gather of q pieces of n/P floats (q·(q−1)·n/P sent per column); to the whole tensor then inside each of
    /// the q grid rows a ring all-gather of q pieces of n/q. Between blocks and column shards the backward is the reverse
    /// pair; to the whole tensor it is the reduce-scatters, moving what the gathers moved.
    /// </summary>
    [Theory]
    [InlineData(1, 5, 6)]
    [InlineData(4, 7, 12)]
    [InlineData(9, 11, 36)]
    public void RegridFiguresFollowFromItsPlacements(int devices, int tokens, int features)
    {
        int q = (int)Math.Round(Math.Sqrt(devices));
        long n = (long)tokens * features;
        double columns = q * (q * (q - 1) * (double)n / devices), rows = q * (q * (q - 1) * (double)n / q);
        Assert.Equal(3, StepCatalog.Variants(typeof(Regrid)).Length);
        foreach (Regrid type in StepCatalog.Variants(typeof(Regrid)))
        {
            bool whole = type.Output == Placement.Replicated;
            Assert.True(type.Input == Placement.Grid2D || type.Output == Placement.Grid2D, $"{type} does not touch the grid");
            var sizes = new StepSizes(new PlanStep(type, -1, features, type.Input, type.Output), null, devices, tokens);
            Assert.Equal(4 * (whole ? columns + rows : columns), type.TotalBytes(sizes), 6);
            Assert.Equal((whole ? 2 : 1) * q, type.Calls(CollectiveOp.AllGather, sizes));
            Assert.Equal(0, type.Calls(CollectiveOp.ReduceScatter, sizes) + type.Calls(CollectiveOp.AllReduce, sizes));
            if (whole)
            {
                Assert.True(type.Backward.TakesPartialSums);
                Assert.Equal(type.TotalBytes(sizes), type.BackwardTotalBytes(sizes));
                Assert.Equal(2 * q, type.BackwardCalls(CollectiveOp.ReduceScatter, sizes));
            }
            else
            {
                var reverse = StepCatalog.Get<Regrid>(type.Output, type.Input);
                Assert.Same(reverse, type.Backward.Conjugate);
                Assert.Equal(reverse.Method, type.Backward.Method);
                Assert.Equal(0, type.BackwardTotalBytes(sizes));
            }
        }
    }

    /// <summary>Every plan step carries its kind's catalog instance, the one the catalog gives for its placements.</summary>
    [Fact]
    public void PlanStepsCarryTheCatalogsInstances()
    {
        var layers = new[]
        {
            new LayerSpec("Up", ParallelStrategy.ColumnParallel, 8, 16, true, Activation.Relu, WeightLayout.InOut),
            new LayerSpec("Down", ParallelStrategy.RowParallel, 16, 8, true, Activation.None, WeightLayout.InOut),
            new LayerSpec("Grid", ParallelStrategy.Summa2D, 8, 8, true, Activation.None, WeightLayout.InOut),
        };
        foreach (var step in PlacementPlanner.Plan(layers))
        {
            Assert.Contains(step.Type, StepCatalog.All);
            Assert.Same(step.Type, StepCatalog.Find(step.Type.GetType(), step.Type.Input, step.Type.Output));
            Assert.Equal(step.Type.GetType().Name, step.Kind);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryKindHasOneTypeWhoseMethodForwardPassImplements(Type kind)
    {
        var variants = StepCatalog.Variants(kind);
        Assert.NotEmpty(variants);
        var type = variants[0];
        // An axis-parameterised kind's types may share one method name where C# can tell them apart by what they read
        // (AllGather's overloads), and need one name each where they read the same placement (ReduceScatter, Slice,
        // Regrid out of blocks): C# cannot overload on the result.
        Assert.All(variants, v => Assert.Equal(kind, v.GetType()));
        Assert.All(variants, v => Assert.Equal(type.Call, v.Call));
        foreach (var a in variants)
        foreach (var b in variants)
        {
            if (ReferenceEquals(a, b)) continue;
            Assert.True(a.Input != b.Input || a.Output != b.Output, $"{kind}: two types move {a.Input} to {a.Output}");
            Assert.False(a.Method == b.Method && a.Input == b.Input,
                $"{kind}: {a.Input} → {a.Output} and {b.Input} → {b.Output} both call {a.Method}");
            if (kind != typeof(Regrid)) // Regrid's methods keep the runtime's pair names
                Assert.True((a.Method == b.Method) == (a.Input != b.Input),
                    $"{kind}: {a.Input} → {a.Output} calls {a.Method}, {b.Input} → {b.Output} calls {b.Method}");
        }
        var map = typeof(ForwardPass).GetInterfaceMap(typeof(IForwardSteps<ShardedTensor<Replicated>, ShardedTensor<ColumnShards>,
            ShardedTensor<TokenShards>, ShardedTensor<HeadShards>, ShardedTensor<PartialSums>, ShardedTensor<Blocks2D>,
            ShardedLinear, ShardedTransformerBlock, ShardedEmbedding, ShardedNorm, float[,]>));
        // One method, or one overload per placement the step reads; the emitter's call fits them all alike.
        var implemented = map.InterfaceMethods.Where(m => m.Name == type.Method).ToArray();
        Assert.True(implemented.Length >= 1, $"{kind}: IForwardSteps has no method named {type.Method}");
        Assert.All(implemented, m => Assert.Equal(implemented[0].GetParameters().Length, m.GetParameters().Length));
        // The call shape the emitter writes matches the method's parameters.
        int expectedParameters = type.Call switch
        {
            StepCall.Upload => 0,
            StepCall.Transition or StepCall.Download or StepCall.EmbeddingLookup => 1,
            StepCall.BlockResidual => 3,
            _ => 2,
        };
        Assert.Equal(expectedParameters, implemented[0].GetParameters().Length);
        Assert.All(variants, v => Assert.False(string.IsNullOrWhiteSpace(v.Backward.Text), $"{kind} from {v.Input} has no backward in words"));
    }

    /// <summary>
    /// The typed ForwardPass signatures agree with the catalog: a step's parameter is the C# type of the placement it
    /// reads and its result the type of the placement it writes, so the compiler checks what the catalog states.
    /// Steps that read several placements keep the placement they read (norms) or update it in place; an
    /// axis-parameterised kind has one overload per catalog type, each typed by that type's placements.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void EveryStepsCSharpTypesAreItsPlacements(Type kind)
    {
        var variants = StepCatalog.Variants(kind);
        foreach (var type in variants)
        {
            var overloads = typeof(ForwardPass).GetMethods().Where(m => m.Name == type.Method).ToArray();
            Assert.NotEmpty(overloads);
            var typed = overloads;
            if (!type.AcceptsAnyInput)
            {
                if (type.Call is not (StepCall.Upload or StepCall.EmbeddingLookup))
                    typed = overloads.Where(m => m.GetParameters()[0].ParameterType == TypeOf(type.Input)).ToArray();
                Assert.True(typed.Length == 1, $"{kind} from {type.Input}: {typed.Length} ForwardPass.{type.Method} overloads read {TypeOf(type.Input).Name}");
                // No overload that no catalog type reads.
                Assert.Equal(variants.Count(v => v.Method == type.Method), overloads.Length);
            }
            foreach (var method in typed)
            {
                var parameters = method.GetParameters();
                var read = type.Call is StepCall.Upload or StepCall.EmbeddingLookup ? null : parameters[0].ParameterType;
                // Partial sums are never read but by a reduction.
                if (type.AcceptsAnyInput) Assert.NotEqual(typeof(ShardedTensor<PartialSums>), read);
                if (type.Call == StepCall.BlockResidual) Assert.Equal(read, parameters[1].ParameterType);
                if (type.IsInPlace) Assert.Equal(typeof(void), method.ReturnType);
                else if (type.AcceptsAnyInput && type.Output.OnDevices) Assert.Equal(read, method.ReturnType);
                else Assert.Equal(TypeOf(type.Output), method.ReturnType);
            }
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
            foreach (var type in route)
            {
                Assert.True(type.AcceptsAnyInput ? at.OnDevices : type.Input == at, $"{from} → {to}: {type.Name} reads {type.Input}, not {at}");
                at = type.Output;
            }
            string steps = string.Join(", ", route.Select(t => t.Name));
            Assert.True(at == to, $"{from} → {to} ends at {at}: {steps}");
            Assert.True(route.Count <= 2, $"{from} → {to} takes {route.Count} steps: {steps}");
        }
    }

    /// <summary>The routes the hand-written planner took before placements, pair by pair (the reference).</summary>
    [Theory]
    [InlineData("partial sums", "2D blocks", new[] { typeof(ReduceScatter), typeof(Regrid) })]
    [InlineData("partial sums", "host", new[] { typeof(AllReduce), typeof(Download) })]
    [InlineData("partial sums", "token shards", new[] { typeof(ReduceScatter) })]
    [InlineData("partial sums", "column shards", new[] { typeof(ReduceScatter) })]
    [InlineData("partial sums", "replicated", new[] { typeof(AllReduce) })]
    [InlineData("token shards", "column shards", new[] { typeof(AllGather), typeof(Slice) })]
    [InlineData("column shards", "token shards", new[] { typeof(AllGather), typeof(Slice) })]
    [InlineData("2D blocks", "token shards", new[] { typeof(Regrid), typeof(Slice) })]
    [InlineData("2D blocks", "column shards", new[] { typeof(Regrid) })]
    [InlineData("replicated", "2D blocks", new[] { typeof(Slice) })]
    [InlineData("host", "token shards", new[] { typeof(UploadTokenShards) })]
    [InlineData("2D blocks", "host", new[] { typeof(Download) })]
    public void TransitionsMatchThePairByPairPlanner(string from, string to, Type[] expected) =>
        Assert.Equal(expected, Transitions.Between(PlacementNames.Named(from), PlacementNames.Named(to)).Select(t => t.GetType()));

    [Fact]
    public void PlacementNamesAreDistinct()
    {
        Assert.Equal(PlacementNames.All.Length, PlacementNames.All.Distinct().Count());
        Assert.Equal(PlacementNames.All.Length, PlacementNames.All.Select(p => p.ToString()).Distinct().Count());
        foreach (var p in PlacementNames.All) Assert.Equal(p, PlacementNames.Named(p.ToString()));
    }
}
