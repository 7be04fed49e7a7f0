using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.ExceptionServices;
using ShardGen.Checkpoints;

namespace ShardGen.Training;

// Save on a mesh spread over processes (MPI): one writer, the others' slices sent to it, one outcome for every process.
public sealed partial class ModelTraining
{
    /// <summary>
    /// The writer (device 0 of the first replica) probes the folder, and every process learns the result before any
    /// data moves; the first replica's other processes send their slices (packed in slice order) to the writer, which
    /// places them by the regions they reported; the writer writes the files, and every process learns whether that
    /// worked. A failure anywhere throws on every process (the failing one its own exception), so none is left waiting.
    /// </summary>
    private void SaveAcrossProcesses(string directory, IProcessMesh processes, List<TensorMapping> maps, Action<List<NamedTensor>> write)
    {
        string model = _core.Plan.ModelName;
        ExceptionDispatchInfo? own = null;
        string? error = null;
        if (processes.IsWriter)
        {
            try { CheckTarget(directory); }
            catch (IOException e) { (own, error) = (ExceptionDispatchInfo.Capture(e), e.Message); }
        }
        if (processes.ShareWriterOutcome(error) is { } refused)
        {
            own?.Throw();
            throw new IOException(refused);
        }

        var regions = MeshRegions(processes);
        var counts = regions.Select(r => Enumerable.Range(0, r.Length / RegionLongs).Sum(i => Region.Of(r, i).Elements)).ToArray();
        // MPI counts are ints: the transfer is chunked, but a device's slices travel as one array.
        for (int rank = 0; rank < counts.Length; rank++)
            if (counts[rank] > Array.MaxLength)
                throw new NotSupportedException(
                    $"Cannot save {model}: device {rank} holds {counts[rank]:N0} parameter floats, more than one array ({Array.MaxLength:N0}) can carry to the writing process. Save on more devices (a larger P).");

        var assembly = processes.IsWriter ? new CheckpointAssembly(model, maps) : null;
        float[]? mine = [];
        try
        {
            if (assembly is not null) PlaceLocalSlices(assembly, Parameters);
            else if (processes.SendsToWriter) mine = Pack(counts);
        }
        catch (Exception e)
        {
            (own, mine) = (ExceptionDispatchInfo.Capture(e), null);
        }
        // The writer keeps receiving after a placement fails (the senders block until it does) and reports it below.
        var failed = processes.GatherToWriter(mine, counts, (rank, data) =>
        {
            if (error is not null) return;
            try { Place(assembly!, regions[rank], data); }
            catch (Exception e) { (own, error) = (ExceptionDispatchInfo.Capture(e), e.Message); }
        });
        if (failed.Count > 0)
        {
            own?.Throw();
            throw new IOException($"Cannot save {model} into {directory}: MPI rank{(failed.Count == 1 ? "" : "s")} {string.Join(",", failed)} could not read " +
                $"{(failed.Count == 1 ? "its" : "their")} slices (see {(failed.Count == 1 ? "its" : "their")} error); nothing was written.");
        }

        if (assembly is not null && error is null)
        {
            try { write(assembly.Tensors()); }
            catch (Exception e) { (own, error) = (ExceptionDispatchInfo.Capture(e), e.Message); }
        }
        if (processes.ShareWriterOutcome(error) is { } failure)
        {
            own?.Throw();
            throw new IOException($"MPI rank 0 could not save {model} into {directory}: {failure}");
        }
    }

    /// <summary>This process's slices end to end, in slice order (the order its regions were reported in).</summary>
    private float[] Pack(long[] counts)
    {
        int rank = _core.Mesh.Devices.First(d => d.IsLocal).Rank;
        var packed = new float[counts[rank]];
        int offset = 0;
        foreach (var s in Local(Parameters))
        {
            s.Download(packed.AsSpan(offset, s.Value.Elements));
            offset += s.Value.Elements;
        }
        if (offset != packed.Length)
            throw new InvalidOperationException($"Model '{_core.Plan.ModelName}': device {rank}'s slices hold {offset} floats but its regions {packed.Length}.");
        return packed;
    }

    /// <summary>Places a sender's packed slices by the regions it reported.</summary>
    private static void Place(CheckpointAssembly assembly, long[] regions, ReadOnlySpan<float> data)
    {
        int offset = 0;
        for (int i = 0; i < regions.Length / RegionLongs; i++)
        {
            var r = Region.Of(regions, i);
            int elements = (int)r.Elements;
            assembly.Place(r.Key, r.Row0, r.Col0, r.Rows, r.Cols, data.Slice(offset, elements));
            offset += elements;
        }
    }
}
