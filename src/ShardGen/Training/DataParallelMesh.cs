using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using ShardGen.Collectives;
using ShardGen.Cpu;

namespace ShardGen.Training;

/// <summary>
/// D × P devices in this process: D replicas, each a mesh of P devices (ranks 0..P−1) that one copy of a
/// tensor-parallel model loads on, its collectives within its replica. <see cref="SumGradients"/> sums the replicas'
/// gradients over the groups {rank k of every replica}; their traffic is <see cref="GradientTraffic"/>.
/// </summary>
public sealed class DataParallelMesh : IDisposable
{
    // Which data-parallel mesh a replica mesh belongs to, so ReplicaGroup.SumGradients counts its traffic there.
    private static readonly ConditionalWeakTable<DeviceMesh, DataParallelMesh> Owners = new();

    private readonly DeviceMesh[] _replicas;

    private DataParallelMesh(DeviceMesh[] replicas)
    {
        _replicas = replicas;
        GradientTraffic = new CollectiveStats(replicas.Length * replicas[0].Size);
        foreach (var mesh in replicas) Owners.AddOrUpdate(mesh, this);
    }

    /// <summary>
    /// <paramref name="replicas"/> × <paramref name="devicesPerReplica"/> CPU devices, each with its own worker (and
    /// <paramref name="threadsPerDevice"/> threads for its GEMMs).
    /// </summary>
    public static DataParallelMesh CreateCpu(int replicas, int devicesPerReplica, int threadsPerDevice = 1)
    {
        if (replicas < 1) throw new ArgumentOutOfRangeException(nameof(replicas), replicas, "Data parallelism needs at least one replica (D ≥ 1).");
        if (devicesPerReplica < 1) throw new ArgumentOutOfRangeException(nameof(devicesPerReplica), devicesPerReplica, "Each replica needs at least one device (P ≥ 1).");
        if (threadsPerDevice < 1) throw new ArgumentOutOfRangeException(nameof(threadsPerDevice), threadsPerDevice, "Each device needs at least one thread.");
        // Workers spin only when all D × P of them fit on the cores together.
        bool fitsOnCores = (long)replicas * devicesPerReplica * threadsPerDevice <= Environment.ProcessorCount;
        var meshes = new DeviceMesh[replicas];
        for (int r = 0; r < replicas; r++) meshes[r] = CpuDeviceMesh.Create(devicesPerReplica, threadsPerDevice, fitsOnCores);
        return new DataParallelMesh(meshes);
    }

    /// <summary>D: the replicas, each one mesh of <see cref="DevicesPerReplica"/> devices.</summary>
    public IReadOnlyList<DeviceMesh> Replicas => _replicas;

    public int ReplicaCount => _replicas.Length;

    /// <summary>P: the tensor-parallel size of every replica.</summary>
    public int DevicesPerReplica => _replicas[0].Size;

    /// <summary>D × P.</summary>
    public int Size => ReplicaCount * DevicesPerReplica;

    /// <summary>Bytes and calls of the gradient sums across replicas: device k of replica r is index r·P + k.</summary>
    public CollectiveStats GradientTraffic { get; }

    /// <summary>
    /// Bytes a ring all-reduce across the D replicas sends per device for <paramref name="gradientBytes"/> of gradients
    /// on that device: 2(D−1)/D of them (chunks rounded to whole floats).
    /// </summary>
    public long PredictedBytesPerDevice(long gradientBytes) => 2 * (ReplicaCount - 1) * gradientBytes / ReplicaCount;

    /// <summary>
    /// Sums the gradients of <paramref name="replicas"/>, the models loaded on <see cref="Replicas"/> (one each, in
    /// order), so each holds the total (see <see cref="ReplicaGroup.SumGradients(IReadOnlyList{ModelTraining}, int)"/>).
    /// </summary>
    public void SumGradients(IReadOnlyList<ModelTraining> replicas, int bucketBytes = ReplicaGroup.DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        if (replicas.Count != ReplicaCount)
            throw new ArgumentException($"{replicas.Count} replicas' gradients for a data-parallel mesh of {ReplicaCount} replicas: pass one model's Training per replica.", nameof(replicas));
        for (int r = 0; r < replicas.Count; r++)
            if (replicas[r] is { } t && !ReferenceEquals(t.Core.Mesh, _replicas[r]))
                throw new ArgumentException($"replicas[{r}] is not the model loaded on Replicas[{r}]: load replica r's model on Replicas[r] and pass them in that order.", nameof(replicas));
        ReplicaGroup.SumGradients(replicas, bucketBytes);
    }

    /// <summary>The traffic counter of the data-parallel mesh <paramref name="replica"/> belongs to, if any.</summary>
    internal static CollectiveStats? TrafficOf(DeviceMesh replica) => Owners.TryGetValue(replica, out var owner) ? owner.GradientTraffic : null;

    public void Dispose()
    {
        foreach (var mesh in _replicas) mesh.Dispose();
    }
}
