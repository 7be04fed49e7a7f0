using System;
using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>
/// Every step kind's <see cref="StepType"/>, the one place that maps a <see cref="PlanStepKind"/> to what it means.
/// A new kind is one file in this folder plus one line in <see cref="All"/> (and its ForwardPass method).
/// </summary>
internal static class StepCatalog
{
    /// <summary>Every step type, in <see cref="PlanStepKind"/> order.</summary>
    public static IReadOnlyList<StepType> All { get; } = Index(new StepType[]
    {
        new UploadReplicated(), new UploadColumnShards(), new UploadBlocks(), new UploadTokenShards(),
        new ColumnParallel(), new RowParallel(), new Summa2D(), new BiasActivation(),
        new AttentionNorm(), new QkvProjection(), new Attention(), new AttentionOutput(), new AttentionResidual(),
        new MlpNorm(), new MlpUp(), new MlpDown(), new MlpResidual(),
        new AllReduce(), new ReduceScatter(), new AllGather(),
        new ColumnShardsToBlocks(), new BlocksToColumnShards(), new BlocksToReplicated(),
        new AllGatherTokens(), new ReduceScatterTokens(),
        new SliceColumns(), new SliceBlocks(), new SliceTokens(),
        new Download(),
    });

    /// <summary>The type of <paramref name="kind"/>.</summary>
    public static StepType Of(PlanStepKind kind) => All[(int)kind];

    /// <summary>Orders the types by kind and checks that every kind has exactly one, so a lookup is an array index.</summary>
    private static StepType[] Index(StepType[] types)
    {
        var kinds = (PlanStepKind[])Enum.GetValues(typeof(PlanStepKind));
        var byKind = new StepType[kinds.Length];
        foreach (var type in types)
        {
            int k = (int)type.Kind;
            if (byKind[k] is not null)
                throw new InvalidOperationException($"Step kind {type.Kind} has two catalog types: {byKind[k].GetType().Name} and {type.GetType().Name}.");
            byKind[k] = type;
        }
        for (int k = 0; k < byKind.Length; k++)
        {
            if (byKind[k] is null)
                throw new InvalidOperationException($"Step kind {(PlanStepKind)k} has no catalog type: add one in Planning/Steps and list it in StepCatalog.All.");
        }
        return byKind;
    }
}
