using System;
using System.Collections.Generic;
using ShardGen.Collectives;
using ShardGen.Cpu;
using ShardGen.Devices;

namespace ShardGen.Training;

/// <summary>
/// The in-process gradient sum across replicas, bucket by bucket. Each replica's meshes are separate (each its own
/// ranks 0..P−1), so the group {rank k of every replica} has no engine of its own: on CPU devices the shared ring
/// schedule runs over it directly (one op per bucket, a part queued on every member after its packing copies, so it
/// is ordered with the backward's kernels); other devices stage through the host. Returns once every sum is done.
/// </summary>
internal static class ReplicaAllReduce
{
    /// <summary>Sums every bucket over <paramref name="replicas"/>; counts each bucket's bytes in <paramref name="traffic"/> (if any).</summary>
    /// <param name="replicas">The replicas' training states, lined up slice for slice.</param>
    /// <param name="buckets">From <see cref="GradientBuckets.Plan"/>.</param>
    /// <param name="traffic">The data-parallel mesh's counter, or null.</param>
    /// <param name="stageThroughHost">Take the host path even on CPU devices (how the tests reach it without a GPU).</param>
    public static void Run(IReadOnlyList<ModelTraining> replicas, List<GradientBucket> buckets, CollectiveStats? traffic, bool stageThroughHost = false)
    {
        int d = replicas.Count, p = replicas[0].Core.Mesh.Size;
        bool cpu = !stageThroughHost && AllCpu(replicas);
        // The ring counts the bytes it moves by device rank, which repeats across replicas: per rank k, all D members
        // together. Each member's share is counted by replica in the mesh's traffic from the schedule, and the two
        // must agree once the ring has run.
        var sink = new CollectiveStats(p);
        var counted = new long[p];
        var pool = new CollectivePool<CpuDevice>((kind, size) => new CpuCollective(kind, size, sink));
        var views = new MatrixView[d];
        // Each rank's packed buckets take turns in one kept buffer per replica, sized by the rank's largest.
        var largest = new int[p];
        foreach (var bucket in buckets)
            if (bucket.Packed) largest[bucket.Rank] = Math.Max(largest[bucket.Rank], bucket.Elements);
        foreach (var bucket in buckets)
        {
            for (int r = 0; r < d; r++) views[r] = Pack(replicas[r], bucket, largest[bucket.Rank]);
            if (cpu) Ring(pool, views);
            else HostSum(views);
            for (int r = 0; r < d; r++) Unpack(replicas[r], bucket, views[r]);
            counted[bucket.Rank] += ReplicaGroup.Count(traffic, d, p, bucket.Rank, bucket.Elements);
        }
        foreach (var replica in replicas) replica.Core.Mesh.Synchronize();
        if (cpu)
            for (int k = 0; k < p; k++)
                if (sink.BytesSent(k) != counted[k])
                    throw new InvalidOperationException($"The ring moved {sink.BytesSent(k)} B across replicas of rank {k} but {counted[k]} B were counted.");
    }

    private static bool AllCpu(IReadOnlyList<ModelTraining> replicas)
    {
        foreach (var replica in replicas)
            foreach (var device in replica.Core.Mesh.Devices)
                if (device is not CpuDevice) return false;
        return true;
    }

    /// <summary>
    /// The bucket's contiguous 1×n view on this replica's device: the start of the replica's kept bucket buffer of
    /// that rank (<paramref name="largest"/> floats) with the slices copied in, or the one slice itself.
    /// </summary>
    private static MatrixView Pack(ModelTraining replica, GradientBucket bucket, int largest)
    {
        var slices = replica.Gradients;
        if (!bucket.Packed)
        {
            var v = slices[bucket.Slices[0]].Value;
            return new MatrixView(v.Buffer, v.Offset, 1, bucket.Elements, bucket.Elements);
        }
        var owned = replica.BucketBuffer(bucket.Rank, largest);
        var device = owned.Device;
        for (int j = 0; j < bucket.Slices.Length; j++)
        {
            var v = slices[bucket.Slices[j]].Value;
            device.Copy(v, Region(owned, bucket.Offsets[j], v));
        }
        return new MatrixView(owned, 0, 1, bucket.Elements, bucket.Elements);
    }

    private static void Unpack(ModelTraining replica, GradientBucket bucket, MatrixView packed)
    {
        if (!bucket.Packed) return;
        var slices = replica.Gradients;
        for (int j = 0; j < bucket.Slices.Length; j++)
        {
            var v = slices[bucket.Slices[j]].Value;
            v.Device.Copy(Region(packed.Buffer, bucket.Offsets[j], v), v);
        }
    }

    /// <summary>Where slice <paramref name="like"/> lies in a packed bucket: its shape, rows end to end.</summary>
    private static MatrixView Region(DeviceBuffer bucket, int offset, MatrixView like) => new(bucket, offset, like.Rows, like.Cols, like.Cols);

    /// <summary>The ring all-reduce over the members' views, queued on each member's worker like any collective.</summary>
    private static void Ring(CollectivePool<CpuDevice> pool, MatrixView[] views)
    {
        var op = pool.Rent(CollectiveKind.AllReduce, views.Length);
        for (int i = 0; i < views.Length; i++)
        {
            op.Members[i] = (CpuDevice)views[i].Device;
            op.MemberViews[i] = views[i];
        }
        op.Start(pool, root: 0);
        for (int i = 0; i < views.Length; i++) op.Members[i].Enqueue(DeviceCommand.Collective(op, i));
    }

    /// <summary>Devices without a shared-memory transport: download every member's bucket, add in replica order, upload the sum.</summary>
    private static void HostSum(MatrixView[] views)
    {
        int n = views[0].Elements;
        var sum = new float[n];
        var part = new float[n];
        for (int r = 0; r < views.Length; r++)
        {
            views[r].Device.Download(views[r], r == 0 ? sum : part, n);
            if (r > 0)
                for (int i = 0; i < n; i++) sum[i] += part[i];
        }
        foreach (var v in views) v.Device.Upload(sum, n, v);
    }
}
