namespace ShardGen.Devices;

/// <summary>
/// The q×q view of a mesh used by SUMMA. Ranks are laid out column-major: rank r sits at grid row
/// <c>r % q</c>, grid column <c>r / q</c>. Column-major keeps each grid column a contiguous range of ranks,
/// so the column shards of a 1D layer (shard s on rank s) line up with the grid's column blocks, and
/// entering or leaving a 2D layer needs only an all-gather inside each grid column.
/// </summary>
public sealed class DeviceGrid
{
    internal DeviceGrid(DeviceMesh mesh, int q)
    {
        Mesh = mesh;
        Q = q;
        var rows = new DeviceGroup[q];
        var cols = new DeviceGroup[q];
        for (int i = 0; i < q; i++)
        {
            var rowMembers = new Device[q];
            var colMembers = new Device[q];
            for (int k = 0; k < q; k++)
            {
                rowMembers[k] = mesh.Devices[RankOf(i, k)];
                colMembers[k] = mesh.Devices[RankOf(k, i)];
            }
            rows[i] = new DeviceGroup($"grid row {i}", rowMembers);
            cols[i] = new DeviceGroup($"grid column {i}", colMembers);
        }
        RowGroups = rows;
        ColumnGroups = cols;
    }

    public DeviceMesh Mesh { get; }

    /// <summary>Grid side: the mesh has q² devices.</summary>
    public int Q { get; }

    /// <summary>RowGroups[i] holds the devices (i, 0..q-1), member k being grid column k.</summary>
    public System.Collections.Generic.IReadOnlyList<DeviceGroup> RowGroups { get; }

    /// <summary>ColumnGroups[j] holds the devices (0..q-1, j), member k being grid row k.</summary>
    public System.Collections.Generic.IReadOnlyList<DeviceGroup> ColumnGroups { get; }

    public int RankOf(int gridRow, int gridColumn) => gridColumn * Q + gridRow;

    public int GridRowOf(int rank) => rank % Q;

    public int GridColumnOf(int rank) => rank / Q;
}
