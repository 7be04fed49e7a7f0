using System.Collections.Generic;
using System.Linq;
using ShardGen.Collectives;

namespace ShardGen.Tests.Runtime;

/// <summary>Positions taken before a bulk drop of records must still find exactly the records added after them.</summary>
public class CollectiveStatsDropTests
{
    private const int R = CollectiveStats.RetainedRecords;

    private static CollectiveRecord Record(long elements) => new(CollectiveKind.AllReduce, "world", 2, elements, elements * 4);

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
