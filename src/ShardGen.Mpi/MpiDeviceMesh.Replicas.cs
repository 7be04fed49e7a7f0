using System;
using ShardGen.Collectives;
using ShardGen.Cpu;
using ShardGen.Devices;
using ShardGen.Training;

namespace ShardGen.Mpi;

// Data × tensor parallelism over MPI: the job's D×P ranks as D replicas of a P-way tensor-parallel mesh.
public sealed partial class MpiDeviceMesh : IProcessReplicas
{
    private MpiCommunicator? _replicaComm;
    private byte[] _replicaLabel = Array.Empty<byte>();

    /// <summary>
    /// Joins the MPI job as one device of one of <paramref name="replicas"/> replicas (D): the job's D×P ranks are
    /// split into D tensor-parallel meshes of P consecutive ranks (world rank w is device w mod P of replica w / P),
    /// each a communicator of its own (MPI_Comm_split), and D-member replica groups {device k of every replica}
    /// over which <see cref="ReplicaGroup.SumGradients(System.Collections.Generic.IReadOnlyList{ModelTraining}, int)"/>
    /// sums this process's gradients. The returned mesh is this process's replica (P devices); load the model on it.
    /// Every rank must call this, in the same order as every other collective step.
    /// </summary>
    /// <param name="replicas">D.</param>
    /// <param name="devicesPerReplica">P, checked against the job (D × P ranks); 0: the job's ranks / D.</param>
    /// <param name="threadsPerDevice">Threads of this process's CPU device for its GEMMs.</param>
    /// <exception cref="ArgumentException">The job's rank count is not a multiple of D, or not D × P.</exception>
    public static MpiDeviceMesh CreateReplica(int replicas, int devicesPerReplica = 0, int threadsPerDevice = 1)
    {
        if (replicas < 1) throw new ArgumentOutOfRangeException(nameof(replicas), replicas, "Data parallelism needs at least one replica (D ≥ 1).");
        if (devicesPerReplica < 0) throw new ArgumentOutOfRangeException(nameof(devicesPerReplica), devicesPerReplica, "Each replica needs at least one device (P ≥ 1; 0: the job's ranks / D).");
        if (threadsPerDevice < 1) throw new ArgumentOutOfRangeException(nameof(threadsPerDevice), threadsPerDevice, "Each device needs at least one thread.");
        var world = MpiRuntime.World;
        if (world.Size % replicas != 0)
            throw new ArgumentException(
                $"The MPI job has {world.Size} ranks, not a multiple of {replicas} replicas: D × P ranks run D replicas of P devices (mpirun -np D×P).",
                nameof(replicas));
        if (devicesPerReplica != 0 && (long)replicas * devicesPerReplica != world.Size)
            throw new ArgumentException(
                $"The MPI job has {world.Size} ranks, but {replicas} replicas × {devicesPerReplica} devices need {(long)replicas * devicesPerReplica}: start it with mpirun -np {(long)replicas * devicesPerReplica}.",
                nameof(devicesPerReplica));
        int p = world.Size / replicas, replica = world.Rank / p, device = world.Rank % p;
        // The process's step guard spans the whole job (every rank's steps), made before the splits like any mesh's.
        MpiRuntime.Guard(world);
        var tensorParallel = world.Split(replica, device)!;
        var across = world.Split(device, replica)!;
        var mesh = new MpiDeviceMesh(tensorParallel, rank => new CpuDevice(rank, threadsPerDevice));
        mesh._owned.Add(tensorParallel);
        mesh._owned.Add(across);
        mesh._replicaComm = across;
        mesh.ReplicaCount = replicas;
        mesh.ReplicaIndex = replica;
        mesh.GradientTraffic = new CollectiveStats(world.Size);
        mesh._replicaLabel = System.Text.Encoding.ASCII.GetBytes(ReplicaGroup.GroupName(device));
        return mesh;
    }

    /// <summary>D: 1 unless made by <see cref="CreateReplica"/>.</summary>
    public int ReplicaCount { get; private set; } = 1;

    /// <summary>Which replica this process's mesh is (0..D−1): it trains on the windows b with b mod D = this index.</summary>
    public int ReplicaIndex { get; private set; }

    /// <summary>
    /// This process's bytes in the gradient sums across replicas (index: world rank = replica·P + device); the other
    /// processes count their own.
    /// </summary>
    public CollectiveStats? GradientTraffic { get; private set; }

    double IProcessReplicas.SumAcrossReplicas(double value)
    {
        if (IsDisposed) throw new ObjectDisposedException(nameof(MpiDeviceMesh), "The mesh was disposed.");
        // Gathered as bits and added in replica order: every process gets the very same double.
        var all = _replicaComm!.AllGather([BitConverter.DoubleToInt64Bits(value)]);
        double sum = 0;
        foreach (long bits in all) sum += BitConverter.Int64BitsToDouble(bits);
        return sum;
    }

    void IProcessReplicas.SumAcrossReplicas(Span<float> data, int rank)
    {
        if (IsDisposed) throw new ObjectDisposedException(nameof(MpiDeviceMesh), "The mesh was disposed.");
        if (rank != LocalRank)
            throw new ArgumentException($"Gradient bucket of rank {rank} on the process of rank {LocalRank}: each process sums only its own device's gradients.", nameof(rank));
        var comm = _replicaComm!;
        int n = data.Length;
        Guard.Enter(comm, null, MpiStep.AllReduce, n, _replicaLabel);
        unsafe
        {
            fixed (float* p = data) comm.AllReduceSum(p, n);
        }
        var traffic = GradientTraffic!;
        long bytes = ReplicaGroup.RingBytesSent(ReplicaCount, ReplicaIndex, n);
        traffic.AddBytesSent(ReplicaIndex * Size + LocalRank, bytes);
        traffic.AddRecord(CollectiveKind.AllReduce, ReplicaGroup.GroupName(LocalRank), ReplicaCount, n, bytes);
    }
}
