using System;
using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// Every step kind's <see cref="StepType"/>, the one place that maps a <see cref="PlanStepKind"/> to what it means.
/// A new kind is one file in this folder plus one line in <see cref="All"/> (and its ForwardPass method). A kind
/// parameterised by a shard axis (<see cref="AllGather"/>, <see cref="ReduceScatter"/>, <see cref="Slice"/>) has one
/// instance per axis, told apart by the placements it moves between.
/// </summary>
internal static class StepCatalog
{
    /// <summary>Every step type (one per kind, one per axis for an axis-parameterised kind), in <see cref="PlanStepKind"/> order.</summary>
    public static IReadOnlyList<StepType> All { get; } = new StepType[]
    {
        new UploadReplicated(), new UploadColumnShards(), new UploadBlocks(), new UploadTokenShards(),
        new TokenEmbedding(), new PositionEmbedding(), new FinalNorm(), new LmHead(),
        new ColumnParallel(), new RowParallel(), new Summa2D(), new BiasActivation(),
        new AttentionNorm(), new QkvProjection(), new Attention(), new AttentionOutput(), new AttentionResidual(),
        new MlpNorm(), new MlpUp(), new MlpDown(), new MlpResidual(),
        new AllReduce(), new ReduceScatter(ShardAxis.Features), new ReduceScatter(ShardAxis.Tokens),
        new AllGather(ShardAxis.Features), new AllGather(ShardAxis.Tokens),
        new ColumnShardsToBlocks(), new BlocksToColumnShards(), new BlocksToReplicated(),
        new Slice(Placement.Shard(ShardAxis.Features)), new Slice(Placement.Grid2D), new Slice(Placement.Shard(ShardAxis.Tokens)),
        new Download(),
    };

    private static readonly StepType[][] ByKind = Index(All);

    /// <summary>The types of <paramref name="kind"/>: one, or one per axis (or target) for an axis-parameterised kind.</summary>
    public static IReadOnlyList<StepType> Variants(PlanStepKind kind) => ByKind[(int)kind];

    /// <summary>The type of <paramref name="step"/>: its kind's, for the placements the step reads and writes.</summary>
    public static StepType Of(PlanStep step) => Of(step.Kind, Placement.Of(step.From), Placement.Of(step.To));

    /// <summary>
    /// The type of <paramref name="kind"/> moving <paramref name="input"/> to <paramref name="output"/> (the kind's only
    /// type when it has one, whatever placements it is given).
    /// </summary>
    public static StepType Of(PlanStepKind kind, Placement input, Placement output)
    {
        var variants = ByKind[(int)kind];
        if (variants.Length == 1) return variants[0];
        foreach (var type in variants)
        {
            if (type.Input == input && type.Output == output) return type;
        }
        throw new InvalidOperationException($"Step kind {kind} has no catalog type moving {input} to {output}.");
    }

    /// <summary>The type of a kind with one type; an axis-parameterised kind needs its placements (<see cref="Of(PlanStepKind, Placement, Placement)"/>).</summary>
    public static StepType Of(PlanStepKind kind) => ByKind[(int)kind] is { Length: 1 } one
        ? one[0]
        : throw new InvalidOperationException($"Step kind {kind} has one catalog type per axis: name the placements it moves between.");

    /// <summary>
    /// Groups the types by kind and checks that every kind has at least one, and that no two types of one kind move the
    /// same placements, so a lookup is an array index (plus a compare for an axis-parameterised kind).
    /// </summary>
    private static StepType[][] Index(IReadOnlyList<StepType> types)
    {
        var kinds = (PlanStepKind[])Enum.GetValues(typeof(PlanStepKind));
        var byKind = new List<StepType>[kinds.Length];
        foreach (var type in types)
        {
            var same = byKind[(int)type.Kind] ??= new List<StepType>();
            foreach (var other in same)
            {
                if (other.Input == type.Input && other.Output == type.Output)
                    throw new InvalidOperationException($"Step kind {type.Kind} has two catalog types moving {type.Input} to {type.Output}.");
            }
            same.Add(type);
        }
        var result = new StepType[kinds.Length][];
        for (int k = 0; k < byKind.Length; k++)
        {
            result[k] = byKind[k]?.ToArray()
                ?? throw new InvalidOperationException($"Step kind {(PlanStepKind)k} has no catalog type: add one in Planning/Steps and list it in StepCatalog.All.");
        }
        return result;
    }
}
