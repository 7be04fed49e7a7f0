using System.Collections.Generic;
using System.Linq;

namespace ShardGen.Planning;

/// <summary>
/// The rules a model must satisfy, with the messages users see. The generator reports them as
/// diagnostics (device rules only when <c>Devices</c> is fixed); <c>Create</c> throws the same text.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
static class ShardRules
{
    /// <summary>Largest device count listed in "device counts that work".</summary>
    public const int MaxListedDevices = 64;

    /// <summary>Rules that hold for any device count: layers exist, features are positive and chain.</summary>
    public static List<ShardProblem> CheckStructure(string model, IReadOnlyList<LayerSpec> layers)
    {
        var problems = new List<ShardProblem>();
        if (layers.Count == 0)
        {
            problems.Add(new ShardProblem(ShardProblemIds.NoLayers, -1, -1,
                $"Model '{model}' has no layers: add a partial Linear property with [ColumnParallel], [RowParallel] or [Summa2D], or a partial TransformerBlock property with [TransformerBlock]."));
            return problems;
        }
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            if (LanguageModelRules.IsLanguageModelKind(l.Strategy))
            {
                if (LanguageModelRules.SizeProblem(l) is { } sizeProblem)
                    problems.Add(new ShardProblem(ShardProblemIds.NonPositiveFeatures, i, -1, sizeProblem));
                continue;
            }
            if (l.InFeatures <= 0 || l.OutFeatures <= 0)
                problems.Add(new ShardProblem(ShardProblemIds.NonPositiveFeatures, i, -1,
                    $"Layer '{l.Name}' declares inFeatures = {l.InFeatures} and outFeatures = {l.OutFeatures}; both must be positive."));
        }
        for (int i = 0; i < layers.Count; i++)
        {
            var shape = layers[i].Strategy switch
            {
                ParallelStrategy.TransformerBlock => BlockShapeProblem(layers[i]),
                ParallelStrategy.TransformerStack => LanguageModelRules.StackShapeProblem(layers[i]),
                _ => null,
            };
            if (shape is not null) problems.Add(new ShardProblem(ShardProblemIds.InvalidBlockShape, i, -1, shape));
        }
        if (LanguageModelRules.HasLanguageModelLayer(layers))
        {
            problems.AddRange(LanguageModelRules.CheckWidths(layers));
            return problems;
        }
        for (int i = 1; i < layers.Count; i++)
        {
            LayerSpec prev = layers[i - 1], cur = layers[i];
            if (prev.OutFeatures != cur.InFeatures && prev.OutFeatures > 0 && cur.InFeatures > 0)
                problems.Add(new ShardProblem(ShardProblemIds.FeaturesDoNotChain, i, i - 1,
                    $"Layer '{cur.Name}' takes {cur.InFeatures} input features but the previous layer '{prev.Name}' produces {prev.OutFeatures}; " +
                    $"make '{cur.Name}' take {prev.OutFeatures} or '{prev.Name}' produce {cur.InFeatures}."));
        }
        return problems;
    }

    /// <summary>Rules for a given device count. Assumes <see cref="CheckStructure"/> found nothing.</summary>
    public static List<ShardProblem> CheckDevices(string model, IReadOnlyList<LayerSpec> layers, int devices)
    {
        var problems = new List<ShardProblem>();
        if (devices <= 0)
        {
            problems.Add(new ShardProblem(ShardProblemIds.InvalidDeviceCount, -1, -1,
                $"Model '{model}' cannot run on {devices} devices; use a positive device count."));
            return problems;
        }
        string works = null!;
        string Works() => works ??= WorkingDeviceCountsText(layers);
        int q = PlanCost.GridSide(devices);
        bool gridReported = false;
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            foreach (var (dim, value) in SplitDimensions(layers, i))
                if (value % devices != 0)
                    problems.Add(new ShardProblem(ShardProblemIds.NotDivisibleByDevices, i, -1,
                        $"Layer '{l.Name}' ({l.StrategyText}) splits its {value} {dim} over {devices} devices, which does not divide evenly. " +
                        $"Device counts that work for '{model}': {Works()}."));
            if (l.Block is { } block)
            {
                if (block.Heads % devices != 0)
                    problems.Add(new ShardProblem(ShardProblemIds.HeadsNotDivisibleByDevices, i, -1,
                        $"{BlockWord(l)} '{l.Name}' splits its {block.Heads} attention heads over {devices} devices, which does not divide evenly. " +
                        $"Device counts that work for '{model}': {Works()}."));
                else if (!KvHeadsFit(block, devices))
                    problems.Add(new ShardProblem(ShardProblemIds.HeadsNotDivisibleByDevices, i, -1,
                        $"{BlockWord(l)} '{l.Name}' has {block.KvHeads} key/value heads on {devices} devices: each device's query heads must share whole key/value heads, " +
                        $"so the device count must divide {block.KvHeads} or be a multiple of it. Device counts that work for '{model}': {Works()}."));
            }
            if (l.Strategy != ParallelStrategy.Summa2D) continue;
            if (q == 0)
            {
                if (!gridReported)
                    problems.Add(new ShardProblem(ShardProblemIds.GridNotSquare, i, -1,
                        $"Layer '{l.Name}' (Summa2D) needs a square device count q×q, but there are {devices} devices. " +
                        $"Device counts that work for '{model}': {Works()}."));
                gridReported = true;
                continue;
            }
            foreach (var (dim, value) in new[] { ("input features", l.InFeatures), ("output features", l.OutFeatures) })
                if (value % q != 0)
                    problems.Add(new ShardProblem(ShardProblemIds.NotDivisibleByGrid, i, -1,
                        $"Layer '{l.Name}' (Summa2D) splits its {value} {dim} into q = {q} blocks on the {q}×{q} grid, which does not divide evenly. " +
                        $"Device counts that work for '{model}': {Works()}."));
        }
        return problems;
    }

    /// <summary>Every rule, structure first.</summary>
    public static List<ShardProblem> Check(string model, IReadOnlyList<LayerSpec> layers, int devices)
    {
        var problems = CheckStructure(model, layers);
        return problems.Count > 0 ? problems : CheckDevices(model, layers, devices);
    }

    /// <summary>Device counts from 1 to <see cref="MaxListedDevices"/> on which the model can run.</summary>
    public static List<int> WorkingDeviceCounts(IReadOnlyList<LayerSpec> layers)
    {
        var counts = new List<int>();
        for (int p = 1; p <= MaxListedDevices; p++)
            if (IsValid(layers, p)) counts.Add(p);
        return counts;
    }

    private static string WorkingDeviceCountsText(IReadOnlyList<LayerSpec> layers)
    {
        var counts = WorkingDeviceCounts(layers);
        return counts.Count == 0
            ? $"none up to {MaxListedDevices}"
            : string.Join(", ", counts) + $" (checked up to {MaxListedDevices})";
    }

    private static bool IsValid(IReadOnlyList<LayerSpec> layers, int p)
    {
        int q = PlanCost.GridSide(p);
        for (int i = 0; i < layers.Count; i++)
        {
            if (SplitDimensions(layers, i).Any(d => d.Value % p != 0)) return false;
            var l = layers[i];
            if (l.Block is { } block && (block.Heads % p != 0 || !KvHeadsFit(block, p))) return false;
            if (l.Strategy == ParallelStrategy.Summa2D && (q == 0 || l.InFeatures % q != 0 || l.OutFeatures % q != 0))
                return false;
        }
        return true;
    }

    /// <summary>"Block" or "Stack", as messages name a layer with attention heads.</summary>
    private static string BlockWord(LayerSpec l) => l.Strategy == ParallelStrategy.TransformerStack ? "Stack" : "Block";

    /// <summary>A device's query heads [r·H/P, (r+1)·H/P) must map onto whole key/value heads.</summary>
    private static bool KvHeadsFit(TransformerSpec block, int devices) =>
        block.KvHeads % devices == 0 || devices % block.KvHeads == 0;

    private static string? BlockShapeProblem(LayerSpec l)
    {
        var b = l.Block!;
        if (l.InFeatures != l.OutFeatures)
            return $"Block '{l.Name}' must keep its width: it takes {l.InFeatures} features and produces {l.OutFeatures}.";
        if (b.Heads <= 0 || b.KvHeads <= 0 || b.FfnHidden <= 0)
            return $"Block '{l.Name}' declares heads = {b.Heads}, KvHeads = {b.KvHeads} and FfnHidden = {b.FfnHidden}; all must be positive.";
        if (l.InFeatures % b.Heads != 0)
            return $"Block '{l.Name}' has hidden size {l.InFeatures}, which does not split into {b.Heads} heads of equal width; choose heads dividing {l.InFeatures}.";
        if (b.Heads % b.KvHeads != 0)
            return $"Block '{l.Name}' has {b.Heads} query heads and {b.KvHeads} key/value heads; KvHeads must divide heads (grouped-query attention).";
        if (!(b.Epsilon > 0))
            return $"Block '{l.Name}' has NormEpsilon = {b.Epsilon.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}; it must be positive.";
        return null;
    }

    /// <summary>The feature dimensions of layer <paramref name="i"/> that are split over all P devices.</summary>
    private static IEnumerable<(string Dim, int Value)> SplitDimensions(IReadOnlyList<LayerSpec> layers, int i)
    {
        var l = layers[i];
        if (l.Strategy == ParallelStrategy.ColumnParallel) yield return ("output features", l.OutFeatures);
        if (l.Block is { } block) yield return ("MLP hidden features", block.FfnHidden);
        if (l.Strategy == ParallelStrategy.RowParallel)
        {
            yield return ("input features", l.InFeatures);
            // Feeding a 2D layer, the partial sums are reduce-scattered into P column shards.
            if (i + 1 < layers.Count && layers[i + 1].Strategy == ParallelStrategy.Summa2D)
                yield return ("output features (reduce-scattered for the next Summa2D layer)", l.OutFeatures);
        }
    }
}
