using System;
using System.Threading;
using ShardGen.Devices;

namespace ShardGen.Kernels;

/// <summary>
/// Scaled dot-product attention over a fused [tokens, q|k|v] matrix, by blocks of query rows: for each
/// (sequence, query head, row block) S = Q·Kᵀ and O = softmax(S/√d)·V run on the packed GEMM, with only
/// a BlockRows × keys score block live per thread (it stays in L2 and bounds the scratch to O(keys)).
/// Causal blocks only score the keys up to their last row, which halves the work of a causal sequence.
/// </summary>
internal static unsafe class AttentionKernel
{
    /// <summary>Query rows per work item: a multiple of the 6-row micro-tile, small enough that S stays in L2.</summary>
    public const int BlockRows = 96;

    internal readonly struct Item(int start, int length, int head, int row, int rows)
    {
        public readonly int Start = start, Length = length, Head = head, Row = row, Rows = rows;

        public long Cost(bool causal) => (long)Rows * (causal ? Row + Rows : Length);
    }

    /// <summary>
    /// Runs attention for <paramref name="plan"/> on <paramref name="qkv"/> (stride ldq) into
    /// <paramref name="output"/> (stride ldo), split over <paramref name="team"/> when there is one.
    /// </summary>
    public static void Run(float* qkv, int ldq, float* output, int ldo, AttentionPlan plan, GemmWorkspace[] workspaces, KernelThreadTeam? team)
    {
        var items = plan.Items;
        int threads = team?.Threads ?? 1;
        if (threads == 1 || items.Length == 1)
        {
            foreach (var item in items) RunItem(item, qkv, ldq, output, ldo, plan.Shape, workspaces[0], plan.ScoreFloats);
            return;
        }
        var job = team!.Attention;
        job.Set(qkv, ldq, output, ldo, plan, workspaces);
        team.Run(job);
    }

    /// <summary>
    /// The plan's items handed out dynamically to a team's members, in the plan's largest-first order so the
    /// hand-out ends with small items and the threads finish together. Set before each team run.
    /// </summary>
    internal sealed class TeamJob : ITeamJob
    {
        private float* _qkv, _output;
        private int _ldq, _ldo;
        private AttentionPlan? _plan;
        private GemmWorkspace[] _workspaces = [];
        private int _next;

        public void Set(float* qkv, int ldq, float* output, int ldo, AttentionPlan plan, GemmWorkspace[] workspaces)
        {
            _qkv = qkv;
            _ldq = ldq;
            _output = output;
            _ldo = ldo;
            _plan = plan;
            _workspaces = workspaces;
            _next = -1;
        }

        public void Run(int member)
        {
            var plan = _plan!;
            var items = plan.Items;
            for (int i = Interlocked.Increment(ref _next); i < items.Length; i = Interlocked.Increment(ref _next))
                RunItem(items[i], _qkv, _ldq, _output, _ldo, plan.Shape, _workspaces[member], plan.ScoreFloats);
        }
    }

    /// <summary>The work items of <paramref name="shape"/>: per sequence, per head, per row block.</summary>
    internal static Item[] Plan(AttentionShape shape, out int maxLength)
    {
        var starts = shape.SequenceStarts;
        int count = 0;
        maxLength = 0;
        for (int s = 0; s + 1 < starts.Length; s++)
        {
            int length = starts[s + 1] - starts[s];
            maxLength = Math.Max(maxLength, length);
            count += (length + BlockRows - 1) / BlockRows * shape.QueryHeads;
        }
        var items = new Item[count];
        int n = 0;
        for (int s = 0; s + 1 < starts.Length; s++)
        {
            int length = starts[s + 1] - starts[s];
            for (int h = 0; h < shape.QueryHeads; h++)
            for (int row = 0; row < length; row += BlockRows)
                items[n++] = new Item(starts[s], length, h, row, Math.Min(BlockRows, length - row));
        }
        return items;
    }

    private static void RunItem(in Item item, float* qkv, int ldq, float* output, int ldo, AttentionShape shape, GemmWorkspace ws, int scoreFloats)
    {
        int d = shape.HeadDim;
        int kvHead = item.Head / (shape.QueryHeads / shape.KvHeads);
        int m = item.Rows;
        // Causal: row i of the block sees keys [0, row + i], so keys past the block's last row are never needed.
        int keys = shape.Causal ? item.Row + m : item.Length;
        float* seq = qkv + (nint)item.Start * ldq;
        float* q = seq + (nint)item.Row * ldq + item.Head * d;
        float* k = seq + (shape.QueryHeads + kvHead) * d;
        float* v = seq + (shape.QueryHeads + shape.KvHeads + kvHead) * d;
        float* o = output + (nint)(item.Start + item.Row) * ldo + item.Head * d;
        float* scores = ws.Scores(scoreFloats);

        // S = Q·Kᵀ, [m, keys]; K is read transposed in place (rows of the fused matrix).
        GemmKernel.Run(new GemmArgs(q, ldq, false, k, ldq, true, scores, keys, m, keys, d, false, null, Activation.None), ws);
        float scale = 1f / MathF.Sqrt(d);
        for (int i = 0; i < m; i++)
            Softmax.ScaledRow(scores + (nint)i * keys, shape.Causal ? item.Row + i + 1 : keys, keys, scale);
        // O = P·V, [m, d], written straight into this head's columns of the output.
        GemmKernel.Run(new GemmArgs(scores, keys, false, v, ldq, false, o, ldo, m, d, keys, false, null, Activation.None), ws);
    }
}
