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
        CheckView(x, nameof(x));
        CheckView(y, nameof(y));
        CheckView(gamma, nameof(gamma));
        if (kind != NormKind.LayerNorm && kind != NormKind.RmsNorm)
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown normalization.");
        if (!(epsilon >= 0f) || float.IsInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"Normalize on {Name}: epsilon must be finite and ≥ 0.");
        CheckSameShape(x, y, "Normalize");
        CheckNormParameter(gamma, x, nameof(gamma));
        // β is ignored by RmsNorm, but a malformed one is still a caller bug worth reporting.
        if (beta is { } bv)
        {
            CheckView(bv, nameof(beta));
            CheckNormParameter(bv, x, nameof(beta));
        }
        // Rows are normalized one at a time, so y may be x itself but must not straddle other rows of x or γ/β.
        if (x != y && Overlaps(x, y))
            throw new ArgumentException($"Normalize on {Name}: y {y} overlaps x {x} without being the same view.", nameof(y));
        if (Overlaps(gamma, y) || (beta is { } bo && Overlaps(bo, y)))
            throw new ArgumentException($"Normalize on {Name}: y must not overlap gamma or beta.", nameof(y));

        Enqueue(DeviceCommand.Normalize(x, y, kind, gamma, beta, epsilon));
    }

    // Built only for an error message: a passing call must not allocate.
    private string What(AttentionShape shape) =>
        $"Attention on {Name} ({shape.QueryHeads} query heads, {shape.KvHeads} kv heads, head dim {shape.HeadDim}, {shape.Tokens} tokens)";

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

    private void CheckNormParameter(MatrixView p, MatrixView x, string name)
    {
        if (p.Rows != 1 || p.Cols != x.Cols)
            throw new ArgumentException($"Normalize on {Name}: {name} must be 1×{x.Cols} to match x ({x.Rows}×{x.Cols}), but is {p.Rows}×{p.Cols}.", name);
    }

    public override void Attention(MatrixView qkv, MatrixView output, AttentionShape shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        shape.Validate();
        CheckView(qkv, nameof(qkv));
        CheckView(output, nameof(output));
        if (qkv.Rows != shape.Tokens || qkv.Cols != shape.FusedWidth)
            throw new ArgumentException($"{What(shape)}: qkv must be {shape.Tokens}×{shape.FusedWidth} but is {qkv.Rows}×{qkv.Cols}.", nameof(qkv));
        if (output.Rows != shape.Tokens || output.Cols != shape.OutputWidth)
            throw new ArgumentException($"{What(shape)}: output must be {shape.Tokens}×{shape.OutputWidth} but is {output.Rows}×{output.Cols}.", nameof(output));
        if (Overlaps(qkv, output))
            throw new ArgumentException($"{What(shape)}: output must not overlap qkv.", nameof(output));
        // The kernel reads the starts when it runs: the plan holds a snapshot, so a caller reusing its array cannot race it.
        var plan = PlanAttention(shape);
        Enqueue(DeviceCommand.Attention(qkv, output, plan));
    }
}
