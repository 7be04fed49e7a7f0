using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Cpu;
using ShardGen.Devices;

namespace ShardGen.Tests.Runtime;

/// <summary>The words of the shared argument checks: each names the offending list entry exactly.</summary>
public sealed class CollectiveShapeCheckTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(3);

    public void Dispose() => _mesh.Dispose();

    private DeviceGroup Group => new("trio", _mesh.Devices.ToArray());

    private static MatrixView View(Device d, int rows, int cols) => d.Allocate(rows * cols).AsMatrix(rows, cols);

    /// <summary>Row j: member j's views, block i of shape rows[i]×2, except block (badJ, badI) which is 5×5.</summary>
    private IReadOnlyList<MatrixView>[] Blocks(int[] rows, int badJ, int badI) =>
        Enumerable.Range(0, 3).Select(j => (IReadOnlyList<MatrixView>)Enumerable.Range(0, 3)
            .Select(i => j == badJ && i == badI ? View(_mesh.Devices[j], 5, 5) : View(_mesh.Devices[j], rows[i], 2)).ToArray()).ToArray();

    [Fact]
    public void A_buffer_of_the_wrong_shape_is_named_by_its_index()
    {
        var buffers = new[] { View(_mesh.Devices[0], 2, 3), View(_mesh.Devices[1], 2, 3), View(_mesh.Devices[2], 3, 2) };
        var e = Assert.Throws<ArgumentException>(() => _mesh.Collectives.AllReduce(Group, buffers));
        Assert.Equal("AllReduce over trio: buffer 2 is 3×2 but 2×3 is expected. (Parameter 'buffers')", e.Message);
        e = Assert.Throws<ArgumentException>(() => _mesh.Collectives.Broadcast(Group, 1, buffers));
        Assert.Equal("Broadcast over trio: buffer 2 is 3×2 but 2×3 is expected. (Parameter 'buffers')", e.Message);
        e = Assert.Throws<ArgumentException>(() => _mesh.Collectives.Reduce(Group, 2, buffers));
        Assert.Equal("Reduce over trio: buffer 0 is 2×3 but 3×2 is expected. (Parameter 'buffers')", e.Message);
    }

    [Fact]
    public void A_target_or_part_of_the_wrong_shape_is_named_by_member_then_block()
    {
        int[] rows = { 1, 2, 3 };
        var shards = Enumerable.Range(0, 3).Select(i => View(_mesh.Devices[i], rows[i], 2)).ToArray();
        var e = Assert.Throws<ArgumentException>(() => _mesh.Collectives.AllGather(Group, shards, Blocks(rows, 2, 1)));
        Assert.Equal("AllGather over trio: targets[2][1] is 5×5 but 2×2 is expected. (Parameter 'targets')", e.Message);
        e = Assert.Throws<ArgumentException>(() => _mesh.Collectives.ReduceScatter(Group, Blocks(rows, 1, 0), shards));
        Assert.Equal("ReduceScatter over trio: parts[1][0] is 5×5 but 1×2 is expected. (Parameter 'parts')", e.Message);
    }

    [Fact]
    public void A_null_or_empty_group_is_refused_before_anything_else()
    {
        var one = new[] { View(_mesh.Devices[0], 1, 1) };
        Assert.Throws<ArgumentNullException>("group", () => _mesh.Collectives.AllReduce(null!, one));
        var e = Assert.Throws<ArgumentException>("group", () => _mesh.Collectives.AllReduce(new DeviceGroup("none", Array.Empty<Device>()), one));
        Assert.StartsWith("Group none has no members.", e.Message);
    }
}
