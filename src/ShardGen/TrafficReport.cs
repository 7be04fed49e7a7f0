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
    private readonly List<CollectiveRecord>? _records; // set when the report is refilled in place
    private readonly long[]? _bytes;

    public TrafficReport(IReadOnlyList<CollectiveRecord> records, IReadOnlyList<long> bytesSentPerDevice)
    {
        Records = records;
        BytesSentPerDevice = bytesSentPerDevice;
    }

    /// <summary>A report for <paramref name="devices"/> devices that its owner refills after every pass (see <see cref="Measure"/>).</summary>
    internal TrafficReport(int devices)
    {
        Records = _records = new List<CollectiveRecord>();
        BytesSentPerDevice = _bytes = new long[devices];
    }

    public IReadOnlyList<CollectiveRecord> Records { get; }

    /// <summary>Bytes each device (by rank) sent to other devices.</summary>
    public IReadOnlyList<long> BytesSentPerDevice { get; }

    /// <summary>
    /// Refills a reusable report with the traffic of <paramref name="stats"/> since (<paramref name="recordPosition"/>,
    /// <paramref name="bytesBefore"/>): the same lists, so steady-state passes allocate nothing.
    /// </summary>
    internal void Measure(CollectiveStats stats, long recordPosition, long[] bytesBefore)
    {
        stats.CopyRecordsSince(recordPosition, _records!);
        stats.CopyBytesSent(_bytes!);
        for (int r = 0; r < _bytes!.Length; r++) _bytes[r] -= bytesBefore[r];
    }

    public long TotalBytesSent
    {
        get
        {
            long total = 0;
            for (int r = 0; r < BytesSentPerDevice.Count; r++) total += BytesSentPerDevice[r];
            return total;
        }
    }

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
