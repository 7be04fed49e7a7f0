using System;
using System.Linq;
using System.Reflection;
using ShardGen.Devices;
using ShardGen.Planning;
using ShardGen.Planning.Steps;
using ShardGen.Runtime;
using ShardGen.Tests.Reference;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Planning;

/// <summary>
/// The transitions into and out of the q×q grid and the slices: ⟨step(x), dy⟩ = ⟨x, backward(dy)⟩ with the runtime's own
/// methods on CPU meshes and fresh random data, the forward by the step's <see cref="StepType.Method"/> and the backward by
/// its catalog <see cref="StepBackward.Method"/> (both found on <see cref="ForwardPass"/> by name and placement types), so a
/// wrong conjugate in the catalog or a wrong runtime method fails here. Token counts that q and P do not divide.
/// A replicated value whose gradient is replicated counts once; per-device partial gradients count device by device.
/// </summary>
public sealed class GridTransitionAdjointnessTests
{
    private const int Features = 36;

    public static TheoryData<Type, string, string, int, int> Steps()
    {
        var data = new TheoryData<Type, string, string, int, int>();
        var types = new[] { typeof(Regrid), typeof(Slice) }
            .SelectMany(kind => StepCatalog.Variants(kind));
        foreach (var type in types)
        foreach (var (p, tokens) in new[] { (1, 3), (4, 7), (9, 11) })
            data.Add(type.GetType(), type.Input.ToString(), type.Output.ToString(), p, tokens);
        return data;
    }

    [Theory]
    [MemberData(nameof(Steps))]
    public void CatalogBackwardIsTheAdjointOfTheRuntimeStep(Type kind, string input, string output, int p, int tokens)
    {
        var type = StepCatalog.Find(kind, PlacementNames.Named(input), PlacementNames.Named(output));
        Assert.NotNull(type.Backward.Method);
        var rng = new Random(1000 * p + 10 * kind.Name.Length + output.Length);
        using var mesh = DeviceMesh.CreateCpu(p);
        var specs = Models.Summa.LayerSpecs;
        var plan = ModelPlan.Create("Summa", specs, p, 0, sequenceParallel: false);
        using var core = new ShardedModelCore(mesh, plan, new IShardedLayer[]
        {
            ShardedLinear.SplitBlocks(mesh, plan.Linear(0), LinearWeights.Random(specs[0], 1, 0)),
        });
        using var pass = core.BeginTraining(ReferenceMath.RandomMatrix(rng, tokens, specs[0].InFeatures), ReferenceMath.RandomMatrix(rng, tokens, specs[0].OutFeatures));

        bool replicatedInput = type.Input.Kind == PlacementKind.Replicated;
        var x = RandomTensor(rng, mesh, type.Input, tokens, sameOnEveryDevice: replicatedInput);
        var xPieces = Pieces(x); // read first: a ring reduce-scatter may sum into its inputs
        var y = Invoke(pass, type.Method, type.Input, x);
        Assert.Equal(type.Output, y.Placement);
        var yPieces = Pieces(y);

        // A gather's conjugate that sums takes per-device partial gradients; any other backward takes the output's placement.
        var gradient = type.Backward.TakesPartialSums ? Placement.Partial : type.Output;
        var dy = RandomTensor(rng, mesh, gradient, tokens, sameOnEveryDevice: false);
        var dyPieces = Pieces(dy);
        var dx = Invoke(pass, type.Backward.Method!, gradient, dy);
        Assert.Equal(type.Input, dx.Placement);
        var dxPieces = Pieces(dx);

        if (replicatedInput) Assert.All(dxPieces, piece => Assert.Equal(dxPieces[0], piece)); // one replicated gradient
        // ⟨y, dy⟩: a replicated output's copies are used device by device (each with its own partial gradient).
        double left = yPieces.Zip(dyPieces, Dot).Sum();
        double right = replicatedInput ? Dot(xPieces[0], dxPieces[0]) : xPieces.Zip(dxPieces, Dot).Sum();
        double scale = Math.Max(Math.Abs(left), Math.Abs(right));
        Assert.True(scale > 1e-3, $"inner products too small to compare ({left}, {right})");
        Assert.True(Math.Abs(left - right) <= 1e-5 * scale,
            $"{kind.Name} {input} → {output} on {p} devices, {tokens} tokens, backward {type.Backward.Method}: ⟨step(x), dy⟩ = {left:R} but ⟨x, backward(dy)⟩ = {right:R}");
    }

    /// <summary>Calls the ForwardPass method <paramref name="name"/> that reads one tensor of <paramref name="placement"/>.</summary>
    private static ShardedTensor Invoke(ForwardPass pass, string name, Placement placement, ShardedTensor x)
    {
        var argument = typeof(ShardedTensor<>).MakeGenericType(PlacementType(placement));
        var method = typeof(ForwardPass).GetMethod(name, new[] { argument })
            ?? throw new InvalidOperationException($"ForwardPass has no {name}({argument.Name}<{PlacementType(placement).Name}>).");
        var wrapped = Activator.CreateInstance(argument, BindingFlags.Instance | BindingFlags.NonPublic, null, new object[] { x }, null);
        var result = method.Invoke(pass, new[] { wrapped })!;
        return (ShardedTensor)result.GetType().GetProperty(nameof(ShardedTensor<Replicated>.Tensor))!.GetValue(result)!;
    }

    private static Type PlacementType(Placement placement) => placement.Kind switch
    {
        PlacementKind.Replicated => typeof(Replicated),
        PlacementKind.Partial => typeof(PartialSums),
        PlacementKind.Grid2D => typeof(Blocks2D),
        PlacementKind.Shard => placement.Axis == ShardAxis.Tokens ? typeof(TokenShards) : typeof(ColumnShards),
        _ => throw new ArgumentException($"no tensor type for {placement}"),
    };

    /// <summary>A tensor [tokens, Features] laid out as <paramref name="placement"/>, each device's piece random (or one shared piece).</summary>
    private static ShardedTensor RandomTensor(Random rng, DeviceMesh mesh, Placement placement, int tokens, bool sameOnEveryDevice)
    {
        int p = mesh.Size;
        var tensor = new ShardedTensor(p).Reset(placement, tokens, Features);
        double[]? shared = null;
        for (int rank = 0; rank < p; rank++)
        {
            var (rows, cols) = placement switch
            {
                { Axis: ShardAxis.Features } => (tokens, Features / p),
                { Axis: ShardAxis.Tokens } => (EvenRanges.Length(tokens, p, rank), Features),
                { Kind: PlacementKind.Grid2D } => (EvenRanges.Length(tokens, mesh.Grid.Q, mesh.Grid.GridRowOf(rank)), Features / mesh.Grid.Q),
                _ => (tokens, Features),
            };
            var values = sameOnEveryDevice && shared is not null ? shared : RoundToFloat(Backend.Reference.Random(rng, rows * cols));
            shared ??= values;
            tensor.ShardArray[rank] = Upload(mesh.Devices[rank], values, rows, cols);
        }
        return tensor;
    }

    private static double[][] Pieces(ShardedTensor t) =>
        t.Shards.Select(v => Array.ConvertAll(Download(v), e => (double)e)).ToArray();

    private static double Dot(double[] a, double[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
