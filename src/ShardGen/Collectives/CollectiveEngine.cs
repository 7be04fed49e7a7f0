using System.Collections.Generic;
using ShardGen.Devices;

namespace ShardGen.Collectives;

/// <summary>
/// The one place that moves data between devices. Every call is collective over a <see cref="DeviceGroup"/>:
/// argument lists are indexed by member. Calls are ordered with the kernels already queued on each member
/// (like NCCL on a stream) and may return before they finish; <see cref="Device.Synchronize"/> waits.
/// Every byte that crosses a device boundary is counted in <see cref="Stats"/>.
/// </summary>
public abstract partial class CollectiveEngine
{
    protected CollectiveEngine(CollectiveStats stats) => Stats = stats;

    public CollectiveStats Stats { get; }

    /// <summary>
    /// Ring all-reduce (reduce-scatter then all-gather) in place: afterwards every buffers[i] holds the
    /// elementwise sum of all of them. Views must be contiguous and of equal shape.
    /// Sends 2(g−1)·N floats in total over a group of g, i.e. 2(g−1)/g·N per device.
    /// </summary>
    public abstract void AllReduce(DeviceGroup group, IReadOnlyList<MatrixView> buffers);

    /// <summary>
    /// Ring all-gather: member j ends with every member's shard, shard i written to targets[j][i]
    /// (same shape as shards[i]; shards may differ in shape). targets[i][i] receives a local copy
    /// unless it is the same view as shards[i]. Sends (g−1)·Σ|shard| floats in total.
    /// </summary>
    public abstract void AllGather(DeviceGroup group, IReadOnlyList<MatrixView> shards,
        IReadOnlyList<IReadOnlyList<MatrixView>> targets);

    /// <summary>
    /// Ring reduce-scatter: results[i] (on member i) = Σ_j parts[j][i], parts[j][i] being member j's
    /// contribution to chunk i. Chunks may differ in shape across i. Parts may be overwritten.
    /// Sends (g−1)·Σ|chunk| floats in total.
    /// </summary>
    public abstract void ReduceScatter(DeviceGroup group, IReadOnlyList<IReadOnlyList<MatrixView>> parts,
        IReadOnlyList<MatrixView> results);

    /// <summary>Copies buffers[root] into every other buffers[i]. Sends (g−1)·N floats in total.</summary>
    public abstract void Broadcast(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers);

    /// <summary>
    /// buffers[root] = Σ_i buffers[i]; the other buffers may be overwritten. Sends (g−1)·N floats in total.
    /// </summary>
    public abstract void Reduce(DeviceGroup group, int root, IReadOnlyList<MatrixView> buffers);
}
