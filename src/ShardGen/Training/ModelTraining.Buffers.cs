using System;
using ShardGen.Devices;

namespace ShardGen.Training;

// Working memory a training step reuses, so that steps after the first allocate nothing: the data-parallel sum's
// bucket buffers and the gradient norm's sums. Made on first use, grown if a later step needs more, freed with the model.
public sealed partial class ModelTraining
{
    private DeviceBuffer?[]? _buckets;
    private float[]? _hostBucket;

    /// <summary>
    /// Device <paramref name="rank"/>'s buffer that a data-parallel bucket of that rank is packed into: at least
    /// <paramref name="elements"/> floats (the largest packed bucket of the rank), kept for the next step. The buckets of
    /// one rank reuse it in turn: each one's copies and all-reduce are queued on that device after the previous one's.
    /// </summary>
    internal DeviceBuffer BucketBuffer(int rank, int elements)
    {
        _buckets ??= new DeviceBuffer?[_core.Mesh.Size];
        if (_buckets[rank] is { } kept && kept.Length >= elements) return kept;
        _buckets[rank]?.Dispose(); // freed after the queued work that still uses it
        return _buckets[rank] = _core.Mesh.Devices[rank].Allocate(elements);
    }

    /// <summary>The host bucket of a data-parallel sum over processes: at least <paramref name="elements"/> floats, kept.</summary>
    internal float[] HostBucket(int elements)
    {
        if (_hostBucket is null || _hostBucket.Length < elements) _hostBucket = new float[elements];
        return _hostBucket;
    }

    /// <summary>Each device's Σ g² of its counted slices, one row per slice, and their host copies; the slices' next row, by rank.</summary>
    private sealed record NormSumBuffers(DeviceBuffer?[] Buffers, MatrixView[] Device, float[][] Host, int[] Next);

    private NormSumBuffers? _normSums;

    /// <summary>The gradient norm's sums for <paramref name="counted"/> (the same slices on every call), made on first use.</summary>
    private NormSumBuffers NormSums(ParameterSlice[] counted)
    {
        if (_normSums is { } kept) return kept;
        var devices = _core.Mesh.Devices;
        var counts = new int[devices.Count];
        foreach (var g in counted) counts[g.Rank]++;
        var buffers = new DeviceBuffer?[devices.Count];
        var views = new MatrixView[devices.Count];
        var host = new float[devices.Count][];
        for (int rank = 0; rank < devices.Count; rank++)
        {
            host[rank] = new float[counts[rank]];
            if (counts[rank] == 0) continue;
            buffers[rank] = devices[rank].Allocate(counts[rank]);
            views[rank] = buffers[rank]!.AsMatrix(counts[rank], 1);
        }
        return _normSums = new NormSumBuffers(buffers, views, host, new int[devices.Count]);
    }

    private void DisposeNormSums()
    {
        if (_normSums is null) return;
        foreach (var b in _normSums.Buffers) b?.Dispose();
        _normSums = null;
    }

    private void DisposeBuffers()
    {
        if (_buckets is not null)
            foreach (var b in _buckets) b?.Dispose();
        _buckets = null;
        DisposeNormSums();
    }
}
