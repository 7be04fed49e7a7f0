using System.Collections.Generic;
using ShardGen.Planning;

namespace ShardGen.Costs;

/// <summary>One plan step as the α–β model prices it.</summary>
public sealed record StepCost(PlanStep Step, double Flops, long BytesPerDevice, int LatencySteps, double ComputeSeconds, double CommunicationSeconds);

/// <summary>
/// A predicted forward pass: compute and communication time (no overlap: they add up), and the speedup over
/// the same model's FLOPs on one device of the same profile.
/// </summary>
public sealed record ForwardCost(
    int Devices,
    int Tokens,
    double TotalFlops,
    double ComputeSeconds,
    double CommunicationSeconds,
    long BytesPerDevice,
    int LatencySteps,
    double SingleDeviceSeconds,
    IReadOnlyList<StepCost> Steps)
{
    public double TotalSeconds => ComputeSeconds + CommunicationSeconds;

    /// <summary>One device's time over this plan's time.</summary>
    public double Speedup => SingleDeviceSeconds / TotalSeconds;

    /// <summary>Speedup over the device count (1 = perfect scaling).</summary>
    public double Efficiency => Speedup / Devices;

    /// <summary>Share of the time spent communicating.</summary>
    public double CommunicationShare => CommunicationSeconds / TotalSeconds;
}
