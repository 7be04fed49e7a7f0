using System;

namespace ShardGen.Costs;

/// <summary>
/// What one device computes per second in the α–β model: sustained float FLOP/s (peak × efficiency for the
/// GEMMs a layer runs). Compute time of a step is its FLOPs / <see cref="FlopsPerSecond"/>.
/// </summary>
public sealed record DeviceProfile(string Name, double FlopsPerSecond)
{
    /// <summary>An H100 SXM-class GPU: 989 TFLOP/s dense BF16 peak at ~50% model-FLOPs utilisation.</summary>
    public static DeviceProfile H100Class { get; } = new("H100-class (≈495 TFLOP/s sustained)", 495e12);

    /// <summary>Checks the figure is usable.</summary>
    public DeviceProfile Validate()
    {
        if (!(FlopsPerSecond > 0) || double.IsInfinity(FlopsPerSecond))
            throw new ArgumentOutOfRangeException(nameof(FlopsPerSecond), FlopsPerSecond, "A device needs a positive, finite FLOP/s.");
        return this;
    }
}

/// <summary>
/// A link in the α–β (Hockney) model: sending a message of b bytes takes α + b/β. <see cref="BandwidthBytesPerSecond"/>
/// is β per direction for each device (every device sends over its own link at once, as in a ring);
/// <see cref="LatencySeconds"/> is α per message step. <see cref="BytesPerElement"/> is the element size on the
/// wire (the plan counts float32, 4 bytes; 2 models BF16/FP16 activations).
/// </summary>
public sealed record LinkProfile(string Name, double BandwidthBytesPerSecond, double LatencySeconds, int BytesPerElement = 4)
{
    /// <summary>NVLink 4 class: ~300 GB/s per direction per GPU, ~5 µs per collective step, BF16 on the wire.</summary>
    public static LinkProfile NvLinkClass { get; } = new("NVLink-class (300 GB/s, 5 µs)", 300e9, 5e-6, 2);

    /// <summary>PCIe 4 x16 class: ~25 GB/s per direction, ~10 µs, BF16 on the wire.</summary>
    public static LinkProfile PcieClass { get; } = new("PCIe-class (25 GB/s, 10 µs)", 25e9, 10e-6, 2);

    /// <summary>Checks the figures are usable (infinite bandwidth is allowed: communication then costs latency only).</summary>
    public LinkProfile Validate()
    {
        if (!(BandwidthBytesPerSecond > 0))
            throw new ArgumentOutOfRangeException(nameof(BandwidthBytesPerSecond), BandwidthBytesPerSecond, "A link needs a positive bandwidth.");
        if (!(LatencySeconds >= 0) || double.IsInfinity(LatencySeconds))
            throw new ArgumentOutOfRangeException(nameof(LatencySeconds), LatencySeconds, "A link's latency must be finite and not negative.");
        if (BytesPerElement < 1)
            throw new ArgumentOutOfRangeException(nameof(BytesPerElement), BytesPerElement, "An element has at least one byte.");
        return this;
    }
}
