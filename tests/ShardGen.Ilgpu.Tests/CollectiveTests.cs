using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Collectives;
using ShardGen.Devices;
using ShardGen.Ilgpu;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// The ILGPU collectives give the CPU backend's results and the CPU backend's byte counts (the expectations of
/// tests/ShardGen.Tests/Backend/CollectiveTests.cs), peer-to-peer and staged through host memory alike.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class CollectiveTests
{
    public static IEnumerable<object[]> Cases() =>
        from g in new[] { 1, 2, 3, 4 } from staged in new[] { false, true } select new object[] { g, staged };

    /// <summary>A group of g devices of a 4-device mesh in reverse order, so member index ≠ rank.</summary>
    private static (IlgpuDeviceMesh Mesh, DeviceGroup Group) Setup(int g, bool staged)
    {
        var mesh = IlgpuMeshes.Cpu(4, staged);
        mesh.Stats.Reset();
        return (mesh, new DeviceGroup($"test {g}", Enumerable.Range(0, g).Select(i => mesh.Devices[3 - i]).ToArray()));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AllReduce_sums_everywhere_with_ring_bytes(int g, bool staged)
    {
        var (mesh, group) = Setup(g, staged);
        const int rows = 3, cols = 7;
        var rng = new Random(g);
        var data = Enumerable.Range(0, g).Select(_ => RoundToFloat(Random(rng, rows * cols))).ToArray();
        var views = group.Members.Select((d, i) => Upload(d, data[i], rows, cols)).ToArray();
        mesh.Collectives.AllReduce(group, views);
        var sum = new double[rows * cols];
        foreach (var x in data) for (int e = 0; e < sum.Length; e++) sum[e] += x[e];
        foreach (var v in views) AssertClose(Download(v), sum, 1e-6, $"g={g}");
        Assert.Equal(2L * (g - 1) * rows * cols * 4, mesh.Stats.TotalBytesSent);
        Assert.Equal(mesh.Stats.TotalBytesSent, Assert.Single(mesh.Stats.Records).TotalBytesSent);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void AllGather_delivers_uneven_shards_into_strided_targets(int g, bool staged)
    {
        var (mesh, group) = Setup(g, staged);
        const int cols = 3;
        int[] rows = Enumerable.Range(0, g).Select(i => i % 3).ToArray(); // uneven, some empty
        int total = rows.Sum();
        int[] start = new int[g];
        for (int i = 1; i < g; i++) start[i] = start[i - 1] + rows[i - 1];
        var rng = new Random(g);
        var shardData = rows.Select(r => RoundToFloat(Random(rng, r * cols))).ToArray();
        var gathered = group.Members.Select(d => Alloc(d, total, cols, stride: cols + 2)).ToArray();
        var targets = gathered.Select(t => (IReadOnlyList<MatrixView>)Enumerable.Range(0, g).Select(i => t.Slice(start[i], 0, rows[i], cols)).ToArray()).ToArray();
        var shards = Enumerable.Range(0, g).Select(i => Upload(group.Members[i], shardData[i], rows[i], cols)).ToArray();
        mesh.Collectives.AllGather(group, shards, targets);
        var expected = shardData.SelectMany(x => x).Select(x => (float)x).ToArray();
        foreach (var t in gathered) Assert.Equal(expected, Download(t));
        Assert.Equal((g - 1) * (long)total * cols * 4, mesh.Stats.TotalBytesSent);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReduceScatter_sums_each_block_on_its_owner(int g, bool staged)
    {
        var (mesh, group) = Setup(g, staged);
        const int cols = 4;
        int[] rows = Enumerable.Range(0, g).Select(i => i % 3 + (i == 1 ? 0 : 1)).ToArray();
        int[] start = new int[g];
        for (int i = 1; i < g; i++) start[i] = start[i - 1] + rows[i - 1];
        int total = rows.Sum();
        var rng = new Random(g + 50);
        var data = Enumerable.Range(0, g).Select(_ => RoundToFloat(Random(rng, total * cols))).ToArray();
        var parts = Enumerable.Range(0, g).Select(j =>
        {
            var whole = Upload(group.Members[j], data[j], total, cols);
            return (IReadOnlyList<MatrixView>)Enumerable.Range(0, g).Select(i => whole.Slice(start[i], 0, rows[i], cols)).ToArray();
        }).ToArray();
        var results = Enumerable.Range(0, g).Select(i => Alloc(group.Members[i], rows[i], cols, stride: cols + 1)).ToArray();
        mesh.Collectives.ReduceScatter(group, parts, results);
        for (int i = 0; i < g; i++)
        {
            var expected = new double[rows[i] * cols];
            for (int e = 0; e < expected.Length; e++)
                for (int j = 0; j < g; j++) expected[e] += data[j][start[i] * cols + e];
            AssertClose(Download(results[i]), expected, 1e-6, $"block {i}");
        }
        Assert.Equal((g - 1) * (long)total * cols * 4, mesh.Stats.TotalBytesSent);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Broadcast_and_reduce_with_documented_bytes(int g, bool staged)
    {
        var (mesh, group) = Setup(g, staged);
        int root = g / 2;
        var x = Random(new Random(root), 5 * 6);
        var views = group.Members.Select((d, i) => i == root ? Upload(d, x, 5, 6, stride: 9) : Alloc(d, 5, 6)).ToArray();
        mesh.Collectives.Broadcast(group, root, views);
        foreach (var v in views) Assert.Equal(ToFloat(x), Download(v));
        Assert.Equal((g - 1) * 30L * 4, mesh.Stats.BytesSent(group.Members[root].Rank));
        Assert.Equal((g - 1) * 30L * 4, mesh.Stats.TotalBytesSent);

        mesh.Stats.Reset();
        var rng = new Random(g);
        var data = Enumerable.Range(0, g).Select(_ => RoundToFloat(Random(rng, 12))).ToArray();
        var parts = group.Members.Select((d, i) => Upload(d, data[i], 4, 3, stride: 5)).ToArray();
        mesh.Collectives.Reduce(group, root, parts);
        var sum = new double[12];
        foreach (var p in data) for (int e = 0; e < 12; e++) sum[e] += p[e];
        AssertClose(Download(parts[root]), sum, 1e-6, "reduce");
        Assert.Equal((g - 1) * 12L * 4, mesh.Stats.TotalBytesSent);
    }

    [Fact]
    public void Collectives_interleave_with_kernels_on_grid_rows_and_columns()
    {
        var mesh = IlgpuMeshes.Cpu(4);
        mesh.Stats.Reset();
        var grid = mesh.Grid;
        var values = new double[] { 1, 2, 3, 4 };
        var views = mesh.Devices.Select((d, r) => Upload(d, new[] { values[r], 10 * values[r] }, 1, 2)).ToArray();
        var ones = mesh.Devices.Select(d => Upload(d, new double[] { 1, 1 }, 1, 2)).ToArray();
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 2; i++)
                mesh.Collectives.AllReduce(grid.RowGroups[i], new[] { views[grid.RankOf(i, 0)], views[grid.RankOf(i, 1)] });
            for (int r = 0; r < 4; r++) mesh.Devices[r].Add(ones[r], views[r]);
            for (int j = 0; j < 2; j++)
                mesh.Collectives.AllReduce(grid.ColumnGroups[j], new[] { views[grid.RankOf(0, j)], views[grid.RankOf(1, j)] });
        }
        var sim = (double[])values.Clone();
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 2; i++) { double s = sim[i] + sim[i + 2]; sim[i] = sim[i + 2] = s; }
            for (int r = 0; r < 4; r++) sim[r] += 1;
            for (int j = 0; j < 2; j++) { double s = sim[2 * j] + sim[2 * j + 1]; sim[2 * j] = sim[2 * j + 1] = s; }
        }
        for (int r = 0; r < 4; r++) Assert.Equal((float)sim[r], Download(views[r])[0]);
        Assert.Equal(12, mesh.Stats.Count(CollectiveKind.AllReduce));
    }

    [Fact]
    public void Cpu_accelerators_copy_peer_to_peer_and_bad_arguments_throw_at_enqueue()
    {
        var mesh = IlgpuMeshes.Cpu(4);
        Assert.Equal(IlgpuTransfer.PeerToPeer, mesh.TransferBetween(0, 3));
        Assert.Equal(IlgpuTransfer.StagedThroughHost, IlgpuMeshes.Cpu(4, staged: true).TransferBetween(0, 3));
        mesh.Stats.Reset();
        var group = new DeviceGroup("three", mesh.Devices.Take(3).ToArray());
        var views = group.Members.Select(d => Alloc(d, 2, 2)).ToArray();
        var e = Assert.Throws<ArgumentException>(() => mesh.Collectives.AllReduce(group, new[] { views[1], views[0], views[2] }));
        Assert.Contains("belongs to device", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => mesh.Collectives.Reduce(group, 3, views));
        var strided = group.Members.Select(d => Alloc(d, 2, 2, stride: 3)).ToArray();
        Assert.Throws<ArgumentException>(() => mesh.Collectives.AllReduce(group, strided));
        Assert.Empty(mesh.Stats.Records);
    }
}
