using System;
using System.Collections.Generic;
using ShardGen.Planning;
using ShardGen.Planning.Steps;

namespace ShardGen.Costs;

/// <summary>
/// α–β cost model of a planned forward pass. Compute: each launch's FLOPs over P devices at the device's FLOP/s.
/// Communication: for every collective step, the plan's exact bytes per device (<see cref="PlanCost"/>, rescaled
/// to the link's element size) over the link bandwidth, plus one latency α per message step of the algorithm
/// the runtime runs (ring all-reduce 2(P−1), ring all-gather / reduce-scatter P−1, SUMMA q·2 broadcast rounds).
/// Compute and communication do not overlap, as in the CPU runtime.
/// </summary>
public static class CostModel
{
    /// <summary>Predicts one forward pass of <paramref name="tokens"/> tokens of <paramref name="plan"/>.</summary>
    public static ForwardCost PredictForward(ModelPlan plan, int tokens, DeviceProfile device, LinkProfile link)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(link);
        if (tokens < 1) throw new ArgumentOutOfRangeException(nameof(tokens), tokens, "A forward pass has at least one token.");
        device.Validate();
        link.Validate();

        int p = plan.Devices;
        double totalFlops = 0, compute = 0, comm = 0;
        long bytes = 0;
        int latencySteps = 0;
        var steps = new List<StepCost>();
        foreach (var step in plan.Steps)
        {
            double flops = StepFlops(plan, step, tokens);
            long stepBytes = (long)Math.Round((double)plan.PredictedTotalBytes(step, tokens) / p * link.BytesPerElement / PlanCost.BytesPerElement);
            int hops = LatencySteps(plan, step);
            double tc = flops / p / device.FlopsPerSecond;
            double tm = CommunicationSeconds(stepBytes, hops, link);
            totalFlops += flops;
            compute += tc;
            comm += tm;
            bytes += stepBytes;
            latencySteps += hops;
            steps.Add(new StepCost(step, flops, stepBytes, hops, tc, tm));
        }
        return new ForwardCost(p, tokens, totalFlops, compute, comm, bytes, latencySteps, totalFlops / device.FlopsPerSecond, steps);
    }

    /// <summary>The α–β time of sending <paramref name="bytesPerDevice"/> per device in <paramref name="steps"/> message steps.</summary>
    public static double CommunicationSeconds(long bytesPerDevice, int steps, LinkProfile link)
    {
        ArgumentNullException.ThrowIfNull(link);
        if (bytesPerDevice == 0 && steps == 0) return 0;
        return bytesPerDevice / link.BandwidthBytesPerSecond + steps * link.LatencySeconds;
    }

    /// <summary>FLOPs of a step on the whole model (a multiply-add counts 2); 0 for steps that only move data.</summary>
    public static double StepFlops(ModelPlan plan, PlanStep step, int tokens)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(step);
        return plan.Repeats(step) * step.Type.Flops(plan.Sizes(step, tokens));
    }

    /// <summary>
    /// Message steps (each costing α) of a collective step as the runtime runs it: ring all-reduce 2(P−1), ring
    /// all-gather and reduce-scatter P−1, grid-column gathers q−1 (twice that for blocks to replicated), SUMMA
    /// q rounds of a row and a column broadcast; 0 for local steps.
    /// </summary>
    public static int LatencySteps(ModelPlan plan, PlanStep step)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(step);
        return plan.Devices == 1 ? 0 : plan.Repeats(step) * step.Type.LatencySteps(plan.Sizes(step, plan.Tokens));
    }
}
