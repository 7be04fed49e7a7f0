using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using ShardGen.Collectives;
using ShardGen.Cpu;
using ShardGen.Devices;
using ShardGen.Planning;
using ShardGen.Runtime;

namespace ShardGen.Mpi;

/// <summary>
/// A mesh of P devices spread over the P ranks of an MPI job (started with <c>mpirun -np P</c>), one device per
/// process. Every rank runs the same program and the same generated model code (SPMD); rank r's mesh holds its own
/// device r (a <see cref="CpuDevice"/> by default) and stand-ins (<see cref="RemoteDevice"/>) for the others, whose
/// buffers hold nothing and whose kernels do nothing. So <c>Model.Create(mesh, weights)</c> uploads only rank r's
/// shards (1/P of the model) and <c>Forward</c> runs only rank r's kernels; the collectives call MPI with the local
/// buffer on the group's communicator (MPI_COMM_WORLD, or the grid's row and column communicators made with
/// MPI_Comm_split), results are assembled on every rank with MPI, and each forward's <see cref="TrafficReport"/> adds
/// up every rank's bytes, so it shows the same figures as the in-process mesh.
/// </summary>
public sealed partial class MpiDeviceMesh : DeviceMesh
{
    private readonly Device[] _devices;
    private readonly MpiCollectiveEngine _collectives;
    private readonly Dictionary<DeviceGroup, MpiCommunicator?> _communicators = new(ReferenceEqualityComparer.Instance);
    private readonly List<MpiCommunicator> _owned = new();
    // DownloadToHost's MPI counts and displacements, one per rank, and VerifyForwardInput's gathered checksums (four
    // per rank): reused, as SPMD code runs its passes from one thread.
    private readonly int[] _downloadCounts, _downloadDisplacements;
    private readonly long[] _inputChecks;

    private MpiDeviceMesh(MpiCommunicator world, Func<int, Device> createLocalDevice)
    {
        Communicator = world;
        LocalRank = world.Rank;
        Guard = MpiRuntime.Guard(world);
        _devices = new Device[world.Size];
        _downloadCounts = new int[world.Size];
        _downloadDisplacements = new int[world.Size];
        _inputChecks = new long[InputCheckLength * world.Size];
        for (int r = 0; r < _devices.Length; r++)
            _devices[r] = r == LocalRank ? createLocalDevice(r) : new RemoteDevice(r);
        var local = _devices[LocalRank];
        if (local is null || local.Rank != LocalRank || !local.IsLocal)
            throw new ArgumentException($"The local device factory must return a local device with rank {LocalRank}.", nameof(createLocalDevice));
        World = new DeviceGroup("world", _devices);
        _communicators[World] = world;
        _collectives = new MpiCollectiveEngine(new CollectiveStats(_devices.Length), this);

        int q = PlanCost.GridSide(Size);
        if (q > 0)
        {
            // Grid rows and columns as communicators, split once here (collective over every rank): member k of
            // row group i is grid column k, member k of column group j is grid row k, so the key is the member index.
            var grid = Grid;
            int row = grid.GridRowOf(LocalRank), column = grid.GridColumnOf(LocalRank);
            var rowComm = world.Split(row, column)!;
            var columnComm = world.Split(column, row)!;
            _owned.Add(rowComm);
            _owned.Add(columnComm);
            for (int i = 0; i < q; i++)
            {
                _communicators[grid.RowGroups[i]] = i == row ? rowComm : null;
                _communicators[grid.ColumnGroups[i]] = i == column ? columnComm : null;
            }
        }
    }

    /// <summary>
    /// Joins the MPI job (initializing MPI if needed) as one device per rank: this rank's device is a CPU device
    /// whose GEMMs use <paramref name="threadsPerDevice"/> threads. Every rank must call this, in the same order as
    /// every other collective step. Throws <see cref="MpiNotFoundException"/> if no MPI library is installed.
    /// </summary>
    public static MpiDeviceMesh Create(int threadsPerDevice = 1)
    {
        if (threadsPerDevice < 1) throw new ArgumentOutOfRangeException(nameof(threadsPerDevice), threadsPerDevice, "Each device needs at least one thread.");
        return new MpiDeviceMesh(MpiRuntime.World, rank => new CpuDevice(rank, threadsPerDevice));
    }

    /// <summary>
    /// Like <see cref="Create(int)"/> with this rank's device made by <paramref name="createLocalDevice"/> (given the
    /// rank; e.g. a GPU backend's device). Collectives use its memory directly if it is a <see cref="CpuDevice"/>,
    /// else through host staging (Download, MPI, Upload).
    /// </summary>
    public static MpiDeviceMesh Create(Func<int, Device> createLocalDevice)
    {
        ArgumentNullException.ThrowIfNull(createLocalDevice);
        return new MpiDeviceMesh(MpiRuntime.World, createLocalDevice);
    }

    /// <summary>This process's rank: the index of <see cref="LocalDevice"/> in the mesh.</summary>
    public int LocalRank { get; }

    /// <summary>The one device whose memory and kernels are in this process.</summary>
    public Device LocalDevice => _devices[LocalRank];

    /// <summary>MPI_COMM_WORLD.</summary>
    public MpiCommunicator Communicator { get; }

    /// <summary>Numbers every collective step and checks that the ranks take them together (one per process).</summary>
    internal MpiStepGuard Guard { get; }

    private static readonly byte[] WorldLabel = System.Text.Encoding.ASCII.GetBytes("world");

    /// <summary>
    /// Host memory MPI reads and writes where device memory cannot be handed to it directly (collectives' staging,
    /// assembled downloads): one block for the mesh, as its collectives and downloads run one at a time.
    /// </summary>
    internal CpuScratch Staging { get; } = new();

    /// <summary>The MPI library in use.</summary>
    public MpiLibrary Library => Communicator.Library;

    /// <summary>True on rank 0, the rank that prints.</summary>
    public bool IsRoot => LocalRank == 0;

    public override IReadOnlyList<Device> Devices => _devices;

    public override DeviceGroup World { get; }

    public override CollectiveEngine Collectives => _collectives;

    /// <summary>
    /// The communicator of <paramref name="group"/> (null where this rank is not a member). Groups other than the
    /// world and the grid's get one on first use, by MPI_Comm_split over every rank: every rank must use the same
    /// groups in the same order, as SPMD code does.
    /// </summary>
    internal MpiCommunicator? CommunicatorOf(DeviceGroup group, int member)
    {
        if (_communicators.TryGetValue(group, out var comm)) return comm;
        Guard.Enter(Communicator, null, MpiStep.CommunicatorSplit, 0, System.Text.Encoding.ASCII.GetBytes(group.Name));
        comm = Communicator.Split(member >= 0 ? 0 : -1, Math.Max(member, 0));
        if (comm != null) _owned.Add(comm);
        _communicators[group] = comm;
        return comm;
    }

    /// <summary>Longs each rank contributes to <see cref="VerifyForwardInput(float[,], int[])"/>: rows, columns, content hash, lengths hash.</summary>
    private const int InputCheckLength = MpiStepGuard.PayloadLength;

    /// <summary>
    /// Every rank must pass the same input: a checksum of the shape, the sequence lengths and the contents is
    /// gathered from every rank (in the header exchange of the forward's first step) and compared, so a rank that differs is named
    /// on every rank, before anything runs.
    /// </summary>
    protected internal override void VerifyForwardInput(int[] tokenIds, int[]? sequenceLengths) =>
        VerifyForwardInput(IdsAsInput(tokenIds), sequenceLengths);

    /// <summary>The ids as a [tokens, 1] input, so token ids are checked by the same checksum as activations.</summary>
    private static float[,] IdsAsInput(int[] ids)
    {
        var x = new float[ids.Length, 1];
        for (int t = 0; t < ids.Length; t++) x[t, 0] = ids[t];
        return x;
    }

    protected internal override void VerifyForwardInput(float[,] x, int[]? sequenceLengths)
    {
        Span<long> mine = stackalloc long[InputCheckLength];
        mine[0] = x.GetLength(0);
        mine[1] = x.GetLength(1);
        mine[2] = (long)ContentHash(HostMatrix.Span(x));
        mine[3] = sequenceLengths is null ? -1 : (long)ContentHash(MemoryMarshal.Cast<int, float>(sequenceLengths.AsSpan()));
        var all = _inputChecks;
        // The checksums ride in the step's header: one exchange checks the step and the input.
        Guard.BeginForward();
        Guard.Enter(Communicator, null, MpiStep.InputCheck, 0, WorldLabel, mine);
        for (int r = 0; r < Size; r++) Guard.Payload(r).CopyTo(all.AsSpan(r * InputCheckLength, InputCheckLength));
        for (int r = 1; r < Size; r++)
            if (!RankChecks(all, r).SequenceEqual(RankChecks(all, 0))) throw InputMismatch(all);
    }

    private static ReadOnlySpan<long> RankChecks(long[] all, int rank) => all.AsSpan(rank * InputCheckLength, InputCheckLength);

    /// <summary>The error every rank throws when the gathered checksums differ: rank 0's and each differing rank's.</summary>
    private ShardingException InputMismatch(long[] all)
    {
        var differing = Enumerable.Range(1, Size - 1).Where(r => !RankChecks(all, r).SequenceEqual(RankChecks(all, 0)));
        string Describe(int r)
        {
            var c = RankChecks(all, r);
            return $"rank {r}: x [{c[0]}, {c[1]}], content hash {c[2]:x16}, " + (c[3] == -1 ? "one sequence" : $"sequence lengths hash {c[3]:x16}");
        }
        return new ShardingException(
            $"The forward input differs between MPI ranks ({string.Join("; ", new[] { 0 }.Concat(differing).Select(Describe))}). " +
            "Every rank runs the same model code (SPMD) and must pass the same x and sequence lengths: load or generate them identically (same file, same seed) on every rank.");
    }

    /// <summary>
    /// Every rank must hold the same full weights, or the shards they upload do not belong to one model and every
    /// rank's result is silently wrong. Each rank hashes each layer; one combined hash rides in the weight check's
    /// step header, and only when those differ are the per-layer hashes gathered (every rank sees the same
    /// headers, so all of them do), to name each layer and rank that differ from rank 0 on every rank, before anything
    /// is uploaded.
    /// </summary>
    protected internal override void VerifyWeights(ModelPlan plan, IReadOnlyList<LayerWeights?> weights)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(weights);
        var hashes = new long[weights.Count];
        long combined = weights.Count;
        for (int i = 0; i < hashes.Length; i++)
        {
            hashes[i] = WeightHashes.Of(weights[i]);
            combined = unchecked(combined * 1_000_003 + hashes[i]);
        }
        Guard.Enter(Communicator, null, MpiStep.WeightCheck, 0, WorldLabel, stackalloc long[] { weights.Count, combined });
        bool same = true;
        for (int r = 1; r < Size; r++) same &= Guard.Payload(r).SequenceEqual(Guard.Payload(0));
        if (same) return;
        Guard.Enter(Communicator, null, MpiStep.WeightCheck, hashes.Length, WorldLabel);
        var all = Communicator.AllGather(hashes);
        var differences = new List<string>();
        for (int layer = 0; layer < hashes.Length; layer++)
        {
            var ranks = Enumerable.Range(1, Size - 1).Where(r => all[r * hashes.Length + layer] != all[layer]).ToList();
            if (ranks.Count > 0)
                differences.Add($"layer '{plan.Layers[layer].Name}' on rank{(ranks.Count == 1 ? "" : "s")} {string.Join(",", ranks)}");
        }
        throw new ShardingException(
            $"Cannot create '{plan.ModelName}' on {Size} MPI ranks: the weights differ from rank 0's in {string.Join("; ", differences)} " +
            "(a hash of each layer's full weights is compared). Every rank must pass the same full weights to Create, loaded from the same " +
            "file or made with the same seed; each rank uploads only its own shards of them. Nothing was uploaded.");
    }

    /// <summary>64-bit checksum of the floats' bit patterns (order-sensitive, 4 independent lanes).</summary>
    internal static ulong ContentHash(ReadOnlySpan<float> values)
    {
        const ulong Prime = 0x100000001b3UL;
        var words = MemoryMarshal.Cast<float, uint>(values);
        ulong h0 = 0xcbf29ce484222325UL, h1 = h0 ^ 1, h2 = h0 ^ 2, h3 = h0 ^ 3;
        int i = 0;
        for (; i + 4 <= words.Length; i += 4)
        {
            h0 = (h0 ^ words[i]) * Prime;
            h1 = (h1 ^ words[i + 1]) * Prime;
            h2 = (h2 ^ words[i + 2]) * Prime;
            h3 = (h3 ^ words[i + 3]) * Prime;
        }
        for (; i < words.Length; i++) h0 = (h0 ^ words[i]) * Prime;
        return ((h0 * 31 + h1) * 31 + h2) * 31 + h3 ^ (ulong)words.Length;
    }

    /// <summary>
    /// A replicated result is read from this rank's own replica; a sharded one (column shards, token shards, 2D
    /// blocks) is assembled on every rank: each rank packs its piece and one MPI_Allgatherv shares them all.
    /// </summary>
    protected internal override unsafe void DownloadToHost(IReadOnlyList<HostPiece> pieces, bool replicated, Span<float> host, int hostStride)
    {
        ArgumentNullException.ThrowIfNull(pieces);
        if (pieces.Count != Size)
            throw new ArgumentException($"A download on an MPI mesh needs one piece per rank ({Size}), got {pieces.Count}.", nameof(pieces));
        for (int r = 0; r < Size; r++)
            if (!ReferenceEquals(pieces[r].Source.Device, _devices[r]))
                throw new ArgumentException($"Piece {r} of a download must be device {r}'s, not {pieces[r].Source.Device.Name}'s.", nameof(pieces));
        var own = pieces[LocalRank];
        if (replicated)
        {
            LocalDevice.Download(own.Source, host.Slice(own.HostOffset), hostStride);
            return;
        }
        var counts = _downloadCounts;
        var displacements = _downloadDisplacements;
        for (int r = 0; r < Size; r++) counts[r] = pieces[r].Source.Elements;
        // The pieces tile the host span, so their total fits an int.
        int total = (int)MpiCollectiveEngine.PrefixSum(counts, displacements);
        float* staging = Staging.Ensure(total);
        var packed = new Span<float>(staging, total);
        if (counts[LocalRank] > 0)
            LocalDevice.Download(own.Source, packed.Slice(displacements[LocalRank], counts[LocalRank]), own.Source.Cols);
        else
            LocalDevice.Synchronize();
        Guard.Enter(Communicator, null, MpiStep.ResultDownload, total, WorldLabel);
        Communicator.AllGatherV(null, counts[LocalRank], staging, counts, displacements);
        for (int r = 0; r < Size; r++)
        {
            var v = pieces[r].Source;
            for (int row = 0; row < v.Rows; row++)
                packed.Slice(displacements[r] + row * v.Cols, v.Cols).CopyTo(host.Slice(pieces[r].HostOffset + row * hostStride, v.Cols));
        }
    }

    /// <summary>
    /// Each rank measured its own device's bytes; the traffic step's header exchange gathers them, so every rank (rank 0 prints)
    /// holds the whole mesh's per-device figures. The collective records are the same on every rank already.
    /// </summary>
    protected internal override TrafficReport CompleteTraffic(TrafficReport measured)
    {
        var bytes = measured.BytesSentPerDevice.ToArray();
        if (bytes.Length != Size) return measured;
        // Each rank's own bytes ride in the step's header: the exchange gathers them all.
        Guard.Enter(Communicator, null, MpiStep.TrafficReport, 0, WorldLabel, stackalloc long[] { bytes[LocalRank] });
        for (int r = 0; r < Size; r++) bytes[r] = Guard.Payload(r)[0];
        Guard.EndForward();
        return new TrafficReport(measured.Records, bytes);
    }

    public override void Dispose()
    {
        if (!MarkDisposed()) return;
        foreach (var d in _devices) d.Dispose();
        foreach (var c in _owned) c.Dispose();
        _owned.Clear();
        Staging.Dispose();
    }
}
