using System.Collections.Generic;
using System.Linq;
using ShardGen.Collectives;

namespace ShardGen.Tests.Runtime;

/// <summary>
/// A long-running mesh keeps a bounded window of records; positions and checkpoints taken before a bulk drop
/// must still find exactly the records added after them.
/// </summary>
public class CollectiveStatsTests
{
    private const int R = CollectiveStats.RetainedRecords;

    private static CollectiveRecord Record(long elements) => new(CollectiveKind.AllReduce, "world", 2, elements, elements * 4);

    [Fact]
    public void A_long_running_mesh_keeps_a_bounded_window_of_records_and_exact_reports()
    {
        var stats = new CollectiveStats(2);
        for (int i = 0; i < 5 * R; i++)
        {
            stats.AddRecord(Record(i));
            stats.AddBytesSent(i % 2, 8);
        }
        Assert.InRange(stats.Records.Count, R, 2 * R);

        var checkpoint = stats.Checkpoint();
        stats.AddRecord(Record(-1));
        stats.AddRecord(Record(-2));
        stats.AddBytesSent(1, 100);
        var report = stats.Since(checkpoint);
        Assert.Equal(new long[] { -1, -2 }, report.Records.Select(r => r.Elements).ToArray());
        Assert.Equal(new long[] { 0, 100 }, report.BytesSentPerDevice.ToArray());
        // Byte totals are never dropped with the records.
        Assert.Equal(5L * R * 8 + 100, stats.TotalBytesSent);
    }

    [Fact]
    public void A_report_across_a_bulk_drop_keeps_only_what_is_still_retained()
    {
        var stats = new CollectiveStats(1);
        var checkpoint = stats.Checkpoint();
        for (int i = 0; i < 3 * R; i++) stats.AddRecord(Record(i));
        var report = stats.Since(checkpoint);
        Assert.Equal(stats.Records.Count, report.Records.Count);
        Assert.Equal(3 * R - 1, report.Records[^1].Elements);
    }

    [Fact]
    public void Records_since_a_position_survive_a_bulk_drop_without_skipping_one()
    {
        var stats = new CollectiveStats(1);
        for (int i = 0; i < 2 * R - 10; i++) stats.AddRecord(Record(i));
        long position = stats.RecordPosition;
        // The 11th of these crosses 2R records and drops the oldest in bulk.
        for (int i = 0; i < 20; i++) stats.AddRecord(Record(-1 - i));

        var since = new List<CollectiveRecord>();
        stats.CopyRecordsSince(position, since);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => -1L - i), since.Select(r => r.Elements));
        Assert.Equal(2L * R + 10, stats.RecordPosition);
    }

    [Fact]
    public void A_report_since_a_checkpoint_survives_a_bulk_drop_without_skipping_one()
    {
        var stats = new CollectiveStats(1);
        for (int i = 0; i < 2 * R - 10; i++) stats.AddRecord(CollectiveKind.Reduce, "world", 2, i, 4L * i);
        var checkpoint = stats.Checkpoint();
        for (int i = 0; i < 20; i++) stats.AddRecord(CollectiveKind.Broadcast, "world", 2, i, 4L * i);

        var report = stats.Since(checkpoint);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), report.Records.Select(r => r.Elements));
        Assert.All(report.Records, r => Assert.Equal(CollectiveKind.Broadcast, r.Kind));
    }
}
