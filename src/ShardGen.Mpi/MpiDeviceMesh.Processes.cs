using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Training;

namespace ShardGen.Mpi;

// Training's sums and Save over the processes: each a guarded step, so a rank out of step aborts instead of hanging.
public sealed partial class MpiDeviceMesh : IProcessMesh
{
    private static readonly byte[] JobLabel = System.Text.Encoding.ASCII.GetBytes("job");
    private const int SaveTag = 0x5356; // "SV": the save gather's point-to-point messages

    double IProcessMesh.SumOverMesh(double value)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        // The partial sums ride in the step's header: one exchange, added in rank order, the same double everywhere.
        Guard.Enter(Communicator, null, MpiStep.GradientNorm, 0, WorldLabel, [BitConverter.DoubleToInt64Bits(value)]);
        double sum = 0;
        for (int r = 0; r < Size; r++) sum += BitConverter.Int64BitsToDouble(Guard.Payload(r)[0]);
        return sum;
    }

    long[][] IProcessMesh.GatherOverMesh(long[] mine)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(mine);
        Guard.Enter(Communicator, null, MpiStep.RegionExchange, 0, WorldLabel, [mine.Length]);
        var lengths = new int[Size];
        for (int r = 0; r < Size; r++) lengths[r] = checked((int)Guard.Payload(r)[0]);
        int longest = lengths.Max();
        // Every member's header arrived: the padded all-gather follows at once.
        var padded = new long[longest];
        mine.CopyTo(padded, 0);
        var all = Communicator.AllGather(padded);
        var result = new long[Size][];
        for (int r = 0; r < Size; r++) result[r] = all.AsSpan(r * longest, lengths[r]).ToArray();
        return result;
    }

    bool IProcessMesh.IsWriter => MpiRuntime.World.Rank == 0;

    // World rank w is device w mod P of replica w / P: the first replica's devices are world ranks 0..P−1.
    bool IProcessMesh.SendsToWriter => ReplicaIndex == 0 && LocalRank != 0;

    string? IProcessMesh.ShareWriterOutcome(string? error)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        var job = MpiRuntime.World;
        byte[] text = job.Rank == 0 && error is not null ? System.Text.Encoding.UTF8.GetBytes(error) : [];
        Guard.Enter(job, null, MpiStep.SaveOutcome, 0, JobLabel, [text.Length]);
        long length = Guard.Payload(0)[0];
        if (length == 0) return null;
        // The message's bytes as floats, broadcast from the writer (every process has entered the step).
        var floats = new float[(length + sizeof(float) - 1) / sizeof(float)];
        if (job.Rank == 0) Buffer.BlockCopy(text, 0, floats, 0, text.Length);
        unsafe
        {
            fixed (float* p = floats) job.Broadcast(p, floats.Length, 0);
        }
        var bytes = new byte[length];
        Buffer.BlockCopy(floats, 0, bytes, 0, bytes.Length);
        return System.Text.Encoding.UTF8.GetString(bytes);
    }

    IReadOnlyList<int> IProcessMesh.GatherToWriter(float[]? mine, long[] counts, Action<int, ReadOnlySpan<float>> receive)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentNullException.ThrowIfNull(receive);
        if (counts.Length != Size)
            throw new ArgumentException($"The save gather needs one count per device ({Size}), got {counts.Length}.", nameof(counts));
        var job = MpiRuntime.World;
        var self = (IProcessMesh)this;
        // Whether each process packed its slices rides in the header: a failure anywhere stops every process here,
        // before any message (a writer that never receives would leave its senders blocked).
        bool packed = mine is not null && (!self.SendsToWriter || mine.Length == counts[LocalRank]);
        Guard.Enter(job, null, MpiStep.SaveGather, counts.Sum(), JobLabel, [packed ? 0 : 1]);
        var failed = Enumerable.Range(0, job.Size).Where(r => Guard.Payload(r)[0] != 0).ToList();
        if (failed.Count > 0) return failed;
        unsafe
        {
            if (self.IsWriter)
            {
                var buffer = new float[Size < 2 ? 0 : counts.Skip(1).Max()];
                fixed (float* p = buffer)
                    for (int rank = 1; rank < Size; rank++)
                    {
                        job.Receive(p, counts[rank], rank, SaveTag);
                        receive(rank, buffer.AsSpan(0, (int)counts[rank]));
                    }
            }
            else if (self.SendsToWriter)
            {
                fixed (float* p = mine) job.Send(p, mine!.Length, 0, SaveTag);
            }
        }
        return failed;
    }
}
