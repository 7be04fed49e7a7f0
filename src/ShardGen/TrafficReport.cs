using System.Collections.Generic;
using System.Linq;
using System.Text;
using ShardGen.Collectives;

namespace ShardGen;

/// <summary>
/// Measured collectives over a stretch of time (one forward pass, say): each call, and the bytes each
/// device sent to other devices.
/// </summary>
public sealed class TrafficReport
{
    public TrafficReport(IReadOnlyList<CollectiveRecord> records, IReadOnlyList<long> bytesSentPerDevice)
    {
        Records = records;
        BytesSentPerDevice = bytesSentPerDevice;
    }

    public IReadOnlyList<CollectiveRecord> Records { get; }

    /// <summary>Bytes each device (by rank) sent to other devices.</summary>
    public IReadOnlyList<long> BytesSentPerDevice { get; }

    public long TotalBytesSent => BytesSentPerDevice.Sum();

    /// <summary>Total bytes divided by the device count: the per-device figure of the textbook formulas.</summary>
    public double AverageBytesPerDevice => BytesSentPerDevice.Count == 0 ? 0 : (double)TotalBytesSent / BytesSentPerDevice.Count;

    /// <summary>Calls of one collective kind.</summary>
    public int Count(CollectiveKind kind) => Records.Count(r => r.Kind == kind);

    public override string ToString()
    {
        var sb = new StringBuilder();
        var kinds = Records.GroupBy(r => r.Kind).Select(g => $"{g.Count()} {KindText(g.Key)}{(g.Count() == 1 ? "" : "s")}");
        sb.Append(Records.Count == 0 ? "no collectives" : string.Join(", ", kinds));
        sb.Append($"; {TotalBytesSent:N0} B sent in total, {AverageBytesPerDevice:N0} B per device");
        return sb.ToString();
    }

    internal static string KindText(CollectiveKind kind) => kind switch
    {
        CollectiveKind.AllReduce => "all-reduce",
        CollectiveKind.AllGather => "all-gather",
        CollectiveKind.ReduceScatter => "reduce-scatter",
        CollectiveKind.Broadcast => "broadcast",
        _ => "reduce",
    };
}
