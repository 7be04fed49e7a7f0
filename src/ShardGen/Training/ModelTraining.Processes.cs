using System;
using System.Collections.Generic;
using System.Linq;

namespace ShardGen.Training;

// A mesh spread over processes (MPI): each process recorded only its own device's slices, so which slices the norm
// counts, and where the writer of a checkpoint places the others' data, come from the regions every process holds.
public sealed partial class ModelTraining
{
    // Longs per region: layer, block, role, first row, first column, rows, columns.
    private const int RegionLongs = 7;

    private long[][]? _meshRegions;

    /// <summary>Each rank's parameter regions in its local slices' order (<see cref="RegionLongs"/> longs each), exchanged once.</summary>
    private long[][] MeshRegions(IProcessMesh processes)
    {
        if (_meshRegions is not null) return _meshRegions;
        var local = Local(Parameters);
        var mine = new long[local.Length * RegionLongs];
        for (int i = 0; i < local.Length; i++)
        {
            var s = local[i];
            long[] region = [s.Key.Layer, s.Key.Block, (long)s.Key.Role, s.Row0, s.Col0, s.Rows, s.Cols];
            region.CopyTo(mine, i * RegionLongs);
        }
        var all = processes.GatherOverMesh(mine);
        if (all.Length != _core.Mesh.Size || all.Any(r => r.Length % RegionLongs != 0))
            throw new InvalidOperationException($"Model '{_core.Plan.ModelName}': the parameter regions gathered from the mesh's {_core.Mesh.Size} processes are malformed.");
        return _meshRegions = all;
    }

    /// <summary>
    /// This process's gradient slices that the norm counts: the in-process rule (the first slice of each region, ranks
    /// in order) applied to every rank's regions, so a region replicated on several processes is counted once, by the
    /// lowest rank that holds it.
    /// </summary>
    private ParameterSlice[] CountedAcrossProcesses(IProcessMesh processes)
    {
        var regions = MeshRegions(processes);
        var seen = new HashSet<Region>();
        var counted = new List<ParameterSlice>();
        for (int rank = 0; rank < regions.Length; rank++)
        {
            var mine = Local(Gradients).Where(g => g.Rank == rank).ToArray();
            if (mine.Length > 0 && mine.Length * RegionLongs != regions[rank].Length)
                throw new InvalidOperationException($"Model '{_core.Plan.ModelName}': rank {rank} has {mine.Length} gradient slices but reported {regions[rank].Length / RegionLongs} regions.");
            for (int i = 0; i < regions[rank].Length / RegionLongs; i++)
                if (seen.Add(Region.Of(regions[rank], i)) && mine.Length > 0) counted.Add(mine[i]);
        }
        return counted.ToArray();
    }

    /// <summary>
    /// The slices of this process's devices: a language model records only those, a float model every device's (the
    /// others' as stand-ins without memory).
    /// </summary>
    private static ParameterSlice[] Local(IEnumerable<ParameterSlice> slices) => slices.Where(s => s.Value.Device.IsLocal).ToArray();

    /// <summary>One parameter region as the processes exchange it.</summary>
    private readonly record struct Region(WeightKey Key, int Row0, int Col0, int Rows, int Cols)
    {
        public static Region Of(long[] regions, int index)
        {
            var r = regions.AsSpan(index * RegionLongs, RegionLongs);
            return new Region(new WeightKey((int)r[0], (int)r[1], (WeightRole)r[2]), (int)r[3], (int)r[4], (int)r[5], (int)r[6]);
        }

        public long Elements => (long)Rows * Cols;
    }
}
