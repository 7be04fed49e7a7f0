using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Devices;

namespace ShardGen.Training;

// A float model's Gradients(layer): its gradient slices of every device on the host, in process or over MPI.
public sealed partial class ModelTraining
{
    /// <summary>
    /// Hands every region of layer <paramref name="layer"/>'s gradient to <paramref name="place"/> once, with its data
    /// (row-major): a region replicated on several devices is taken from the lowest rank. Each device's slices of the
    /// layer are packed end to end on the device and the mesh downloads the packs side by side, so on a mesh spread over
    /// processes (MPI) the other processes' slices arrive too, placed by the regions every process reported (exchanged
    /// once, as for the norm and Save): a collective there, which every process calls, and each gets the whole.
    /// </summary>
    internal void GradientsToHost(int layer, Action<WeightKey, int, int, int, int, ReadOnlySpan<float>> place)
    {
        var mesh = _core.Mesh;
        var processes = mesh as IProcessMesh;
        if (processes is null && mesh.Devices.Any(d => !d.IsLocal))
            throw new NotSupportedException($"Gradients gathers every device's slices, but {_core.Plan.ModelName}'s mesh has devices of other processes and no way to reach them: use an MpiDeviceMesh.");
        int p = mesh.Size;
        // Every rank's regions in its slice order, and this process's slices of each rank in the same order.
        var regions = new List<Region>[p];
        var slices = new List<ParameterSlice>[p];
        for (int rank = 0; rank < p; rank++) (regions[rank], slices[rank]) = (new(), new());
        foreach (var g in Local(Gradients)) slices[g.Rank].Add(g);
        if (processes is null)
            foreach (var g in Gradients) regions[g.Rank].Add(new Region(g.Key, g.Row0, g.Col0, g.Rows, g.Cols));
        else
        {
            var all = MeshRegions(processes);
            for (int rank = 0; rank < p; rank++)
                for (int i = 0; i < all[rank].Length / RegionLongs; i++) regions[rank].Add(Region.Of(all[rank], i));
        }
        // The layer's regions of each rank, where each starts in its rank's pack, and where each pack starts on the host.
        var chosen = new List<(int Index, int Offset)>[p];
        var packStart = new int[p + 1];
        for (int rank = 0; rank < p; rank++)
        {
            chosen[rank] = new();
            for (int i = 0; i < regions[rank].Count; i++)
                if (regions[rank][i].Key.Layer == layer)
                {
                    chosen[rank].Add((i, packStart[rank + 1]));
                    packStart[rank + 1] += checked((int)regions[rank][i].Elements);
                }
        }
        for (int rank = 0; rank < p; rank++) packStart[rank + 1] = checked(packStart[rank + 1] + packStart[rank]);

        var packs = new DeviceBuffer?[p];
        try
        {
            var pieces = new HostPiece[p];
            for (int rank = 0; rank < p; rank++)
            {
                int n = packStart[rank + 1] - packStart[rank];
                var pack = packs[rank] = mesh.Devices[rank].Allocate(n);
                pieces[rank] = new HostPiece(pack.AsMatrix(n > 0 ? 1 : 0, Math.Max(n, 1)), packStart[rank]);
                if (!mesh.Devices[rank].IsLocal) continue;
                if (slices[rank].Count != regions[rank].Count)
                    throw new InvalidOperationException($"Model '{_core.Plan.ModelName}': device {rank} has {slices[rank].Count} gradient slices but {regions[rank].Count} regions.");
                foreach (var (index, offset) in chosen[rank])
                {
                    var v = slices[rank][index].Value;
                    v.Device.Copy(v, new MatrixView(pack, offset, v.Rows, v.Cols, v.Cols));
                }
            }
            var host = new float[packStart[p]];
            mesh.DownloadToHost(pieces, replicated: false, host, Math.Max(1, host.Length));
            var placed = new HashSet<Region>();
            for (int rank = 0; rank < p; rank++)
                foreach (var (index, offset) in chosen[rank])
                {
                    var r = regions[rank][index];
                    if (placed.Add(r)) place(r.Key, r.Row0, r.Col0, r.Rows, r.Cols, host.AsSpan(packStart[rank] + offset, (int)r.Elements));
                }
        }
        finally
        {
            foreach (var b in packs) b?.Dispose();
        }
    }
}
