using System;
using System.Collections.Generic;
using ShardGen.Collectives;
using ShardGen.Cpu;
using ShardGen.Planning;

namespace ShardGen.Training;

/// <summary>
/// Data parallelism: D replicas of one tensor-parallel model (each on its own P devices) that train on different
/// windows of the same global batch. After each replica's backward their gradients are summed across replicas,
/// slice by slice (each slice with the slice of the same rank in the other replicas), in buckets: each rank's slices
/// are packed end to end into contiguous buffers of at most <see cref="DefaultBucketBytes"/>, one all-reduce per
/// bucket over the group {rank k of every replica}, then unpacked (a slice as large as a bucket is reduced where it
/// lies). A ring all-reduce sends 2(D−1)/D of the gradient bytes per device; the bytes are counted in
/// <see cref="DataParallelMesh.GradientTraffic"/> (in process) or the MPI mesh's.
/// </summary>
public static class ReplicaGroup
{
    /// <summary>Bytes per bucket unless told otherwise: large enough for full-speed transfers, small enough to stage.</summary>
    public const int DefaultBucketBytes = 16 << 20;

    private static readonly object Gate = new();

    /// <summary>Sums every gradient slice over <paramref name="replicas"/> in place, so that each replica holds the total.</summary>
    public static void SumGradients(IReadOnlyList<ModelTraining> replicas) => SumGradients(replicas, DefaultBucketBytes);

    /// <summary>
    /// <see cref="SumGradients(IReadOnlyList{ModelTraining})"/> with buckets of at most <paramref name="bucketBytes"/>.
    /// In process: one <see cref="ModelTraining"/> per replica, each on its own mesh. On MPI (a mesh made by
    /// <c>MpiDeviceMesh.CreateReplica</c>): this process's one replica; the others are in the other processes.
    /// Everything is checked before any gradient changes.
    /// </summary>
    public static void SumGradients(IReadOnlyList<ModelTraining> replicas, int bucketBytes)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        if (bucketBytes < sizeof(float))
            throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, "A bucket holds at least one float (4 bytes).");
        if (replicas.Count == 0) throw new ArgumentException("SumGradients needs at least one replica's training state.", nameof(replicas));
        for (int r = 0; r < replicas.Count; r++)
            if (replicas[r] is null) throw new ArgumentNullException(nameof(replicas), $"replicas[{r}] is null.");
        int bucketElements = bucketBytes / sizeof(float);
        if (replicas.Count == 1)
        {
            // One replica in this process: either the only one (nothing to sum) or one of a job over processes.
            if (replicas[0].Core.Mesh is IProcessReplicas processes && processes.ReplicaCount > 1)
                SumAcrossProcesses(replicas[0], processes, GradientBuckets.Plan(replicas, bucketElements));
            return;
        }
        CheckLinedUp(replicas);
        var buckets = GradientBuckets.Plan(replicas, bucketElements);
        var traffic = DataParallelMesh.TrafficOf(replicas[0].Core.Mesh);
        lock (Gate) ReplicaAllReduce.Run(replicas, buckets, traffic);
    }

    /// <summary>Replicas must be the same model on equal, distinct meshes: slice i the same region on the same rank everywhere.</summary>
    private static void CheckLinedUp(IReadOnlyList<ModelTraining> replicas)
    {
        var first = replicas[0];
        var mesh = first.Core.Mesh;
        for (int r = 0; r < replicas.Count; r++)
        {
            var replica = replicas[r];
            var m = replica.Core.Mesh;
            if (m.IsDisposed) throw new ObjectDisposedException($"replicas[{r}]", $"Replica {r}'s mesh was disposed.");
            if (m is IProcessReplicas)
                throw new ArgumentException($"Replica {r} is on an MPI mesh: each process passes only its own replica to SumGradients (the others are summed over MPI).", nameof(replicas));
            if (m.Size != mesh.Size)
                throw new ArgumentException($"Replica {r}'s mesh has {m.Size} devices but replica 0's has {mesh.Size}: every replica needs the same tensor-parallel size P (use DataParallelMesh.CreateCpu(D, P)).", nameof(replicas));
            if (replica.Core.Plan.ModelName != first.Core.Plan.ModelName)
                throw new ArgumentException($"Replica {r} is a '{replica.Core.Plan.ModelName}' but replica 0 a '{first.Core.Plan.ModelName}': replicas must be one model.", nameof(replicas));
            for (int q = 0; q < r; q++)
            {
                if (ReferenceEquals(replicas[q], replica))
                    throw new ArgumentException($"replicas[{q}] and replicas[{r}] are the same model: pass each replica once.", nameof(replicas));
                if (ReferenceEquals(replicas[q].Core.Mesh, m) || SharesDevice(replicas[q].Core.Mesh, m))
                    throw new ArgumentException($"Replicas {q} and {r} share devices: each replica needs its own mesh (DataParallelMesh.Replicas).", nameof(replicas));
            }
            if (replica.Gradients.Count != first.Gradients.Count)
                throw new ArgumentException($"Replica {r} has {replica.Gradients.Count} gradient slices but replica 0 has {first.Gradients.Count}: load every replica with the same model class, sizes and P.", nameof(replicas));
            for (int i = 0; i < first.Gradients.Count; i++)
            {
                ParameterSlice a = first.Gradients[i], b = replica.Gradients[i];
                if (a.Rank != b.Rank || !a.SameRegion(b))
                    throw new ArgumentException(
                        $"Gradient slice {i} differs between replicas: replica 0 has {Describe(a)}, replica {r} {Describe(b)}. " +
                        "Load every replica with the same model class, sizes and P.", nameof(replicas));
            }
        }
    }

    private static string Describe(ParameterSlice s) => $"{s.Key} rows {s.Row0}+{s.Rows}, columns {s.Col0}+{s.Cols} on rank {s.Rank}";

    private static bool SharesDevice(DeviceMesh a, DeviceMesh b)
    {
        foreach (var x in a.Devices)
            foreach (var y in b.Devices)
                if (ReferenceEquals(x, y)) return true;
        return false;
    }

    /// <summary>MPI: this process's slices go through host buckets to an all-reduce over the replica communicator.</summary>
    private static void SumAcrossProcesses(ModelTraining replica, IProcessReplicas processes, List<GradientBucket> buckets)
    {
        var slices = replica.Gradients;
        int largest = 0;
        foreach (var b in buckets) largest = Math.Max(largest, b.Elements);
        var host = replica.HostBucket(largest);
        foreach (var bucket in buckets)
        {
            var data = host.AsSpan(0, bucket.Elements);
            for (int j = 0; j < bucket.Slices.Length; j++)
            {
                var v = slices[bucket.Slices[j]].Value;
                v.Device.Download(v, data.Slice(bucket.Offsets[j]), v.Cols);
            }
            processes.SumAcrossReplicas(data, bucket.Rank);
            for (int j = 0; j < bucket.Slices.Length; j++)
            {
                var v = slices[bucket.Slices[j]].Value;
                v.Device.Upload(data.Slice(bucket.Offsets[j]), v.Cols, v);
            }
        }
    }

    /// <summary>
    /// D and the index of the first replica held in this process: in process <paramref name="replicas"/>.Count and 0;
    /// on a mesh made by <c>MpiDeviceMesh.CreateReplica</c> (one replica per process) its D and this process's replica.
    /// </summary>
    internal static (int Count, int First) Layout(IReadOnlyList<ModelTraining> replicas)
    {
        if (replicas.Count == 1 && replicas[0].Core.Mesh is IProcessReplicas processes && processes.ReplicaCount > 1)
            return (processes.ReplicaCount, processes.ReplicaIndex);
        return (replicas.Count, 0);
    }

    /// <summary>
    /// The sum over all D replicas of <paramref name="local"/> (the loss sums of the replicas held here): itself in
    /// process, summed over the replica communicator on MPI (the same double, in replica order, on every process).
    /// </summary>
    internal static double SumOverProcesses(IReadOnlyList<ModelTraining> replicas, double local) =>
        replicas.Count == 1 && replicas[0].Core.Mesh is IProcessReplicas processes && processes.ReplicaCount > 1
            ? processes.SumAcrossReplicas(local)
            : local;

    /// <summary>Bytes member <paramref name="member"/> of a ring all-reduce over <paramref name="size"/> members sends for <paramref name="elements"/> floats.</summary>
    internal static long RingBytesSent(int size, int member, int elements)
    {
        if (size < 2) return 0;
        Span<int> chunks = stackalloc int[size];
        for (int c = 0; c < size; c++) chunks[c] = EvenRanges.Length(elements, size, c);
        return CollectiveSchedule.For(CollectiveKind.AllReduce, size).ElementsSent(chunks, member) * sizeof(float);
    }

    /// <summary>
    /// Counts one bucket's all-reduce (if <paramref name="traffic"/> is given): each member's bytes at index
    /// replica·P + rank, one record for the call. Returns the bytes of all members together.
    /// </summary>
    internal static long Count(CollectiveStats? traffic, int replicas, int devicesPerReplica, int rank, int elements)
    {
        long total = 0;
        for (int r = 0; r < replicas; r++)
        {
            long bytes = RingBytesSent(replicas, r, elements);
            traffic?.AddBytesSent(r * devicesPerReplica + rank, bytes);
            total += bytes;
        }
        traffic?.AddRecord(CollectiveKind.AllReduce, GroupName(rank), replicas, elements, total);
        return total;
    }

    /// <summary>The group {rank k of every replica}.</summary>
    public static string GroupName(int rank) => $"replicas of rank {rank}";
}

/// <summary>
/// A mesh that is one replica of a data-parallel job spread over processes (MPI): its gradients are summed with the
/// same rank's gradients in the other processes' replicas.
/// </summary>
internal interface IProcessReplicas
{
    /// <summary>D.</summary>
    int ReplicaCount { get; }

    /// <summary>This process's replica, 0..D−1.</summary>
    int ReplicaIndex { get; }

    /// <summary>The sum of <paramref name="value"/> over the replicas (added in replica order, the same on every process).</summary>
    double SumAcrossReplicas(double value);

    /// <summary>Sums <paramref name="data"/> (this process's bucket of rank <paramref name="rank"/>) over the replicas, in place.</summary>
    void SumAcrossReplicas(Span<float> data, int rank);
}
