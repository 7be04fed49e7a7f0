using System.Linq;
using ShardGen.Collectives;

namespace ShardGen.Tests.Runtime;

public class CollectiveStatsTests
{
    private static CollectiveRecord Record(long elements) => new(CollectiveKind.AllReduce, "world", 2, elements, elements * 4);

    [Fact]
    public void A_long_running_mesh_keeps_a_bounded_window_of_records_and_exact_reports()
    {
        var stats = new CollectiveStats(2);
        for (int i = 0; i < 5 * CollectiveStats.RetainedRecords; i++)
        {
            stats.AddRecord(Record(i));
            stats.AddBytesSent(i % 2, 8);
        }
        Assert.InRange(stats.Records.Count, CollectiveStats.RetainedRecords, 2 * CollectiveStats.RetainedRecords);

        var checkpoint = stats.Checkpoint();
        stats.AddRecord(Record(-1));
        stats.AddRecord(Record(-2));
        stats.AddBytesSent(1, 100);
        var report = stats.Since(checkpoint);
        Assert.Equal(new long[] { -1, -2 }, report.Records.Select(r => r.Elements).ToArray());
        Assert.Equal(new long[] { 0, 100 }, report.BytesSentPerDevice.ToArray());
        // Byte totals are never dropped with the records.
        Assert.Equal(5L * CollectiveStats.RetainedRecords * 8 + 100, stats.TotalBytesSent);
    }

    [Fact]
    public void A_report_across_a_bulk_drop_keeps_only_what_is_still_retained()
    {
        var stats = new CollectiveStats(1);
        var checkpoint = stats.Checkpoint();
        for (int i = 0; i < 3 * CollectiveStats.RetainedRecords; i++) stats.AddRecord(Record(i));
        var report = stats.Since(checkpoint);
        Assert.Equal(stats.Records.Count, report.Records.Count);
        Assert.Equal(3 * CollectiveStats.RetainedRecords - 1, report.Records[^1].Elements);
    }
}
