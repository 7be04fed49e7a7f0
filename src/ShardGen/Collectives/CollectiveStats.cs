using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;

namespace ShardGen.Collectives;

/// <summary>Where the traffic totals stood at one moment (see <see cref="CollectiveStats.Checkpoint"/>).</summary>
public sealed record TrafficCheckpoint(long RecordCount, long[] BytesSent);

/// <summary>One collective call as it ran: which, over which group, and the bytes it sent in total.</summary>
public sealed record CollectiveRecord(CollectiveKind Kind, string Group, int GroupSize, long Elements, long TotalBytesSent);

/// <summary>
/// Measured traffic of a mesh: bytes each device sent to another device, and every collective call.
/// Bytes are counted where data really crosses devices, not predicted.
/// </summary>
public sealed class CollectiveStats
{
    /// <summary>Records kept: a long-running mesh must not grow without bound; byte totals are never dropped.</summary>
    public const int RetainedRecords = 16_384;

    /// <summary>Distinct records kept for reuse; a mesh running ever-new shapes clears the table instead of growing it.</summary>
    private const int InternedRecords = 4_096;

    private readonly long[] _bytesSent;
    private readonly List<CollectiveRecord> _records = new();
    private readonly Dictionary<(CollectiveKind, string, int, long, long), CollectiveRecord> _interned = new();
    private readonly object _gate = new();
    private long _dropped; // records removed from the front of _records

    public CollectiveStats(int devices) => _bytesSent = new long[devices];

    /// <summary>Called by a backend when device <paramref name="rank"/> sends bytes to another device.</summary>
    public void AddBytesSent(int rank, long bytes) => Interlocked.Add(ref _bytesSent[rank], bytes);

    /// <summary>Called once per collective call, after it has been issued.</summary>
    public void AddRecord(CollectiveRecord record)
    {
        lock (_gate) Append(record);
    }

    /// <summary>
    /// Adds a record for one call. Records are immutable, so every call of the same collective on the same shape
    /// shares one instance: steady-state passes add records without allocating.
    /// </summary>
    public void AddRecord(CollectiveKind kind, string group, int groupSize, long elements, long totalBytesSent)
    {
        var key = (kind, group, groupSize, elements, totalBytesSent);
        // One lock for interning and appending: this runs once per collective.
        lock (_gate)
        {
            if (!_interned.TryGetValue(key, out var record))
            {
                if (_interned.Count >= InternedRecords) _interned.Clear();
                _interned[key] = record = new CollectiveRecord(kind, group, groupSize, elements, totalBytesSent);
            }
            Append(record);
        }
    }

    /// <summary>Appends under <see cref="_gate"/>, dropping old records in bulk so adding stays O(1) amortised.</summary>
    private void Append(CollectiveRecord record)
    {
        _records.Add(record);
        if (_records.Count > 2 * RetainedRecords)
        {
            // Count exactly what is removed: positions after a drop depend on it.
            int drop = _records.Count - RetainedRecords;
            _records.RemoveRange(0, drop);
            _dropped += drop;
        }
    }

    /// <summary>Records added since the mesh was created (dropped ones included): a position for <see cref="CopyRecordsSince"/>.</summary>
    internal long RecordPosition
    {
        get { lock (_gate) return _dropped + _records.Count; }
    }

    /// <summary>Replaces the contents of <paramref name="into"/> with the records added after <paramref name="position"/> that are still retained.</summary>
    internal void CopyRecordsSince(long position, List<CollectiveRecord> into)
    {
        into.Clear();
        lock (_gate)
        {
            for (int i = (int)System.Math.Max(0, position - _dropped); i < _records.Count; i++) into.Add(_records[i]);
        }
    }

    /// <summary>Copies every device's byte total into <paramref name="into"/> (one per device).</summary>
    internal void CopyBytesSent(long[] into)
    {
        for (int r = 0; r < _bytesSent.Length; r++) into[r] = BytesSent(r);
    }

    internal int Devices => _bytesSent.Length;

    public long BytesSent(int rank) => Interlocked.Read(ref _bytesSent[rank]);

    public long TotalBytesSent => Enumerable.Range(0, _bytesSent.Length).Sum(BytesSent);

    /// <summary>Total bytes sent divided by the device count: the per-device figure of the textbook formulas.</summary>
    public double AverageBytesPerDevice => (double)TotalBytesSent / _bytesSent.Length;

    public IReadOnlyList<CollectiveRecord> Records
    {
        get { lock (_gate) return _records.ToArray(); }
    }

    public int Count(CollectiveKind kind) => Records.Count(r => r.Kind == kind);

    /// <summary>Marks the current totals so a later <see cref="Since"/> reports only what came after.</summary>
    public TrafficCheckpoint Checkpoint()
    {
        long position = RecordPosition;
        var bytes = new long[Devices];
        CopyBytesSent(bytes);
        return new TrafficCheckpoint(position, bytes);
    }

    /// <summary>The traffic since <paramref name="checkpoint"/>.</summary>
    public TrafficReport Since(TrafficCheckpoint checkpoint)
    {
        // The same measurement a model's reusable report makes after every pass, into a fresh report.
        var report = new TrafficReport(Devices);
        report.Measure(this, checkpoint.RecordCount, checkpoint.BytesSent);
        return report;
    }

    public void Reset()
    {
        lock (_gate)
        {
            _records.Clear();
            _dropped = 0;
        }
        for (int i = 0; i < _bytesSent.Length; i++) Interlocked.Exchange(ref _bytesSent[i], 0);
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var r in Records)
            sb.AppendLine($"{r.Kind,-14} {r.Group,-16} {r.Elements,12:N0} floats  {r.TotalBytesSent,14:N0} B sent in total");
        sb.Append($"total {TotalBytesSent:N0} B, {AverageBytesPerDevice:N0} B per device");
        return sb.ToString();
    }
}
