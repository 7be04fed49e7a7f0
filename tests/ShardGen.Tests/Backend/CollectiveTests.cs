using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Collectives;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

public sealed class CollectiveTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(8);

    public void Dispose() => _mesh.Dispose();

    public static TheoryData<int> GroupSizes => new() { 1, 2, 3, 4, 8 };

    /// <summary>A group of g devices in a scrambled order, so member index ≠ rank.</summary>
    private DeviceGroup Group(int g)
    {
        var members = g == 8
            ? Enumerable.Range(0, 8).Select(i => _mesh.Devices[(i * 5 + 3) % 8]).ToArray()
            : Enumerable.Range(0, g).Select(i => _mesh.Devices[7 - i]).ToArray();
        return new DeviceGroup($"test {g}", members);
    }

    private CollectiveRecord SingleRecord(CollectiveKind kind)
    {
        var r = Assert.Single(_mesh.Stats.Records);
        Assert.Equal(kind, r.Kind);
        Assert.Equal(r.TotalBytesSent, _mesh.Stats.TotalBytesSent);
        return r;
    }

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void AllReduceSumsEverywhereWithDocumentedBytes(int g)
    {
        foreach (var (rows, cols) in new[] { (3, 7), (1, 3), (5, 1) })
        {
            _mesh.Stats.Reset();
            var group = Group(g);
            var rng = new Random(g * 100 + rows);
            var data = Enumerable.Range(0, g).Select(_ => RoundToFloat(Reference.Random(rng, rows * cols))).ToArray();
            var views = group.Members.Select((d, i) => Upload(d, data[i], rows, cols)).ToArray();
            _mesh.Collectives.AllReduce(group, views);
            var sum = new double[rows * cols];
            foreach (var x in data) for (int e = 0; e < sum.Length; e++) sum[e] += x[e];
            foreach (var v in views) AssertClose(Download(v), sum, 1e-6, $"g={g} {rows}x{cols}");
            long n = rows * cols;
            var r = SingleRecord(CollectiveKind.AllReduce);
            Assert.Equal(2L * (g - 1) * n * 4, _mesh.Stats.TotalBytesSent);
            Assert.Equal(n, r.Elements);
            Assert.Equal(g, r.GroupSize);
            Assert.Equal(group.Name, r.Group);
        }
    }

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void AllGatherDeliversEveryShardWithDocumentedBytes(int g)
    {
        foreach (bool inPlace in new[] { false, true })
        {
            _mesh.Stats.Reset();
            var group = Group(g);
            var rng = new Random(g);
            const int cols = 3;
            int[] rows = Enumerable.Range(0, g).Select(i => i % 3).ToArray(); // uneven, some empty
            int totalRows = rows.Sum();
            int[] start = new int[g];
            for (int i = 1; i < g; i++) start[i] = start[i - 1] + rows[i - 1];
            var shardData = rows.Select(r => RoundToFloat(Reference.Random(rng, r * cols))).ToArray();
            var gathered = group.Members.Select(d => Alloc(d, totalRows, cols, stride: cols + 2)).ToArray();
            var targets = gathered.Select(t => (IReadOnlyList<MatrixView>)Enumerable.Range(0, g).Select(i => t.Slice(start[i], 0, rows[i], cols)).ToArray()).ToArray();
            var shards = Enumerable.Range(0, g).Select(i =>
            {
                if (inPlace)
                {
                    group.Members[i].Upload(ToFloat(shardData[i]), cols, targets[i][i]);
                    return targets[i][i];
                }
                return Upload(group.Members[i], shardData[i], rows[i], cols);
            }).ToArray();
            _mesh.Collectives.AllGather(group, shards, targets);
            var expected = shardData.SelectMany(x => x).ToArray();
            foreach (var t in gathered) Assert.Equal(expected.Select(x => (float)x).ToArray(), Download(t));
            var r = SingleRecord(CollectiveKind.AllGather);
            Assert.Equal((long)totalRows * cols, r.Elements);
            Assert.Equal((g - 1) * (long)totalRows * cols * 4, _mesh.Stats.TotalBytesSent);
        }
    }

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void ReduceScatterSumsEachBlockOnItsOwnerWithDocumentedBytes(int g)
    {
        _mesh.Stats.Reset();
        var group = Group(g);
        var rng = new Random(g + 50);
        const int cols = 4;
        int[] rows = Enumerable.Range(0, g).Select(i => i % 3 + (i == 1 ? 0 : 1)).ToArray();
        int[] start = new int[g];
        for (int i = 1; i < g; i++) start[i] = start[i - 1] + rows[i - 1];
        int totalRows = rows.Sum();
        var data = Enumerable.Range(0, g).Select(_ => RoundToFloat(Reference.Random(rng, totalRows * cols))).ToArray();
        var parts = Enumerable.Range(0, g).Select(j =>
        {
            var whole = Upload(group.Members[j], data[j], totalRows, cols);
            return (IReadOnlyList<MatrixView>)Enumerable.Range(0, g).Select(i => whole.Slice(start[i], 0, rows[i], cols)).ToArray();
        }).ToArray();
        var results = Enumerable.Range(0, g).Select(i => Alloc(group.Members[i], rows[i], cols, stride: cols + 1)).ToArray();
        _mesh.Collectives.ReduceScatter(group, parts, results);
        for (int i = 0; i < g; i++)
        {
            var expected = new double[rows[i] * cols];
            for (int e = 0; e < expected.Length; e++)
                for (int j = 0; j < g; j++) expected[e] += data[j][start[i] * cols + e];
            AssertClose(Download(results[i]), expected, 1e-6, $"block {i}");
        }
        SingleRecord(CollectiveKind.ReduceScatter);
        Assert.Equal((g - 1) * (long)totalRows * cols * 4, _mesh.Stats.TotalBytesSent);
    }

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void BroadcastCopiesRootEverywhereWithDocumentedBytes(int g)
    {
        for (int root = 0; root < g; root += Math.Max(1, g / 2))
        {
            _mesh.Stats.Reset();
            var group = Group(g);
            var x = Reference.Random(new Random(root), 5 * 6);
            var views = group.Members.Select((d, i) => i == root ? Upload(d, x, 5, 6, stride: 9) : Alloc(d, 5, 6)).ToArray();
            _mesh.Collectives.Broadcast(group, root, views);
            foreach (var v in views) Assert.Equal(ToFloat(x), Download(v));
            SingleRecord(CollectiveKind.Broadcast);
            Assert.Equal((g - 1) * 30L * 4, _mesh.Stats.TotalBytesSent);
            Assert.Equal((g - 1) * 30L * 4, _mesh.Stats.BytesSent(group.Members[root].Rank));
        }
    }

    [Theory]
    [MemberData(nameof(GroupSizes))]
    public void ReduceSumsOnRootWithDocumentedBytes(int g)
    {
        for (int root = 0; root < g; root += Math.Max(1, g / 3))
        {
            _mesh.Stats.Reset();
            var group = Group(g);
            var rng = new Random(root + 10 * g);
            var data = Enumerable.Range(0, g).Select(_ => RoundToFloat(Reference.Random(rng, 4 * 3))).ToArray();
            var views = group.Members.Select((d, i) => Upload(d, data[i], 4, 3, stride: 5)).ToArray();
            _mesh.Collectives.Reduce(group, root, views);
            var sum = new double[12];
            foreach (var x in data) for (int e = 0; e < 12; e++) sum[e] += x[e];
            AssertClose(Download(views[root]), sum, 1e-6, $"reduce root {root}");
            SingleRecord(CollectiveKind.Reduce);
            Assert.Equal((g - 1) * 12L * 4, _mesh.Stats.TotalBytesSent);
        }
    }

    [Fact]
    public void CollectivesOnGridRowsAndColumnsInterleavedWithKernels()
    {
        using var mesh = CpuDeviceMesh.Create(4);
        var grid = mesh.Grid;
        // Column-major ranks: rank r at (r % 2, r / 2).
        Assert.Same(mesh.Devices[grid.RankOf(1, 0)], grid.RowGroups[1].Members[0]);
        Assert.Same(mesh.Devices[1], grid.ColumnGroups[0].Members[1]);
        var values = new double[] { 1, 2, 3, 4 };
        var views = mesh.Devices.Select((d, r) => Upload(d, new[] { values[r], 10 * values[r] }, 1, 2)).ToArray();
        var ones = mesh.Devices.Select(d => Upload(d, new double[] { 1, 1 }, 1, 2)).ToArray();
        for (int round = 0; round < 5; round++)
        {
            for (int i = 0; i < 2; i++)
                mesh.Collectives.AllReduce(grid.RowGroups[i], new[] { views[grid.RankOf(i, 0)], views[grid.RankOf(i, 1)] });
            for (int r = 0; r < 4; r++) mesh.Devices[r].Add(ones[r], views[r]);
            for (int j = 0; j < 2; j++)
                mesh.Collectives.AllReduce(grid.ColumnGroups[j], new[] { views[grid.RankOf(0, j)], views[grid.RankOf(1, j)] });
        }
        // Simulate the same rounds in double.
        var sim = (double[])values.Clone();
        for (int round = 0; round < 5; round++)
        {
            for (int i = 0; i < 2; i++) { double s = sim[i] + sim[i + 2]; sim[i] = sim[i + 2] = s; }
            for (int r = 0; r < 4; r++) sim[r] += 1;
            for (int j = 0; j < 2; j++) { double s = sim[2 * j] + sim[2 * j + 1]; sim[2 * j] = sim[2 * j + 1] = s; }
        }
        for (int r = 0; r < 4; r++) Assert.Equal((float)sim[r], Download(views[r])[0]);
        Assert.Equal(20, mesh.Stats.Count(CollectiveKind.AllReduce));
        Assert.Equal(20 * 2L * 1 * 2 * 4, mesh.Stats.TotalBytesSent);
    }

    [Fact]
    public void BadCollectiveArgumentsThrowAtEnqueue()
    {
        var group = Group(3);
        var views = group.Members.Select(d => Alloc(d, 2, 2)).ToArray();
        var wrongDevice = new[] { views[1], views[0], views[2] };
        var e = Assert.Throws<ArgumentException>(() => _mesh.Collectives.AllReduce(group, wrongDevice));
        Assert.Contains("belongs to device", e.Message);
        var wrongShape = new[] { views[0], views[1], Alloc(group.Members[2], 1, 4) };
        Assert.Throws<ArgumentException>(() => _mesh.Collectives.Broadcast(group, 0, wrongShape));
        Assert.Throws<ArgumentException>(() => _mesh.Collectives.AllReduce(group, views.Take(2).ToArray()));
        Assert.Throws<ArgumentOutOfRangeException>(() => _mesh.Collectives.Reduce(group, 3, views));
        var strided = group.Members.Select(d => Alloc(d, 2, 2, stride: 3)).ToArray();
        Assert.Throws<ArgumentException>(() => _mesh.Collectives.AllReduce(group, strided));
        using var other = CpuDeviceMesh.Create(1);
        Assert.Throws<ArgumentException>(() => _mesh.Collectives.AllReduce(other.World, new[] { Alloc(other.Devices[0], 1, 1) }));
        Assert.Empty(_mesh.Stats.Records);
        _mesh.Synchronize();
    }
}
