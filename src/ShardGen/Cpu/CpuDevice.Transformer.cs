using System;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

// Transformer-block kernels: normalization and attention. Checked at enqueue time like the GEMM.
public sealed unsafe partial class CpuDevice
{
    // Recent attention plans: the blocks of a model share a few shapes, and every pass repeats them.
    private readonly AttentionPlan?[] _attentionPlans = new AttentionPlan?[8];
    private int _nextAttentionPlan;

    public override void Normalize(MatrixView x, MatrixView y, NormKind kind, MatrixView gamma, MatrixView? beta, float epsilon)
    {
        CheckNormalize(x, y, kind, gamma, beta, epsilon);
        Enqueue(DeviceCommand.Normalize(x, y, kind, gamma, beta, epsilon));
    }

    /// <summary>A plan for <paramref name="shape"/>: one made before for an equal shape, or a new one (kept, a few at most).</summary>
    private AttentionPlan PlanAttention(AttentionShape shape)
    {
        lock (_attentionPlans)
        {
            foreach (var plan in _attentionPlans)
                if (plan != null && plan.Matches(shape)) return plan;
            var made = new AttentionPlan(shape);
            _attentionPlans[_nextAttentionPlan] = made;
            _nextAttentionPlan = (_nextAttentionPlan + 1) % _attentionPlans.Length;
            return made;
        }
    }

    public override void Attention(MatrixView qkv, MatrixView output, AttentionShape shape)
    {
        CheckAttention(qkv, output, shape);
        // The kernel reads the starts when it runs: the plan holds a snapshot, so a caller reusing its array cannot race it.
        var plan = PlanAttention(shape);
        Enqueue(DeviceCommand.Attention(qkv, output, plan));
    }
}
