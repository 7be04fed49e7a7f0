using System;
using ShardGen.Devices;

namespace ShardGen.Kernels;

/// <summary>
/// An attention problem planned once: a private snapshot of the shape (the kernel reads the sequence starts when
/// it runs, so a caller reusing its array cannot race it) and its work items. Immutable, so the queued commands
/// of every pass with the same shape share one.
/// </summary>
internal sealed class AttentionPlan
{
    public AttentionPlan(AttentionShape shape)
    {
        Shape = shape with { SequenceStarts = (int[])shape.SequenceStarts.Clone() };
        Items = AttentionKernel.Plan(Shape, out int maxLength);
        // Largest first for a thread team's dynamic hand-out, so it ends with small items and the threads finish
        // together; a single thread runs them in the same order (every item writes its own part of the output).
        bool causal = Shape.Causal;
        int window = Shape.Window;
        Array.Sort(Items, (x, y) => y.Cost(causal, window).CompareTo(x.Cost(causal, window)));
        ScoreFloats = Math.Min(AttentionKernel.BlockRows, maxLength) * maxLength;
    }

    public AttentionShape Shape { get; }

    /// <summary>The work items, most expensive first.</summary>
    internal AttentionKernel.Item[] Items { get; }

    /// <summary>Score scratch per thread: one row block × the longest sequence.</summary>
    public int ScoreFloats { get; }

    /// <summary>True when this plan is for the same problem as <paramref name="shape"/> (sequence starts compared by value).</summary>
    public bool Matches(AttentionShape shape)
    {
        var s = Shape;
        return s.QueryHeads == shape.QueryHeads && s.KvHeads == shape.KvHeads && s.HeadDim == shape.HeadDim &&
               s.Causal == shape.Causal && s.Window == shape.Window && s.SequenceStarts.AsSpan().SequenceEqual(shape.SequenceStarts);
    }
}
