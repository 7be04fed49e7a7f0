using System;
using System.Threading;
using ShardGen.Devices;

namespace ShardGen.Kernels;

/// <summary>
/// Scaled dot-product attention over a fused [tokens, q|k|v] matrix, by blocks of query rows: for each
/// (sequence, query head, row block) S = Q·Kᵀ and O = softmax(S/√d)·V run on the packed GEMM, with only
/// a BlockRows × keys score block live per thread (it stays in L2 and bounds the scratch to O(keys)).
/// Causal blocks cover only the lower triangle of keys (see RunCausal), which halves the work of a causal sequence
/// and means a query never reads a later token.
/// </summary>
internal static unsafe class AttentionKernel
{
    /// <summary>Query rows per work item: a multiple of the 6-row micro-tile, small enough that S stays in L2.</summary>
    public const int BlockRows = 96;

    internal readonly struct Item(int start, int length, int head, int row, int rows)
    {
        public readonly int Start = start, Length = length, Head = head, Row = row, Rows = rows;

        /// <summary>Keys × rows: a causal block sees the keys up to its last row, at most Window − 1 before its first.</summary>
        public long Cost(bool causal, int window) => (long)Rows * (causal ? (window > 0 ? Math.Min(Row, window - 1) : Row) + Rows : Length);
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
        float* seq = qkv + (nint)item.Start * ldq;
        var block = new Block(
            seq + (nint)item.Row * ldq + item.Head * d,
            seq + (shape.QueryHeads + kvHead) * d,
            seq + (shape.QueryHeads + shape.KvHeads + kvHead) * d,
            ldq,
            output + (nint)(item.Start + item.Row) * ldo + item.Head * d,
            ldo, d, ws, ws.Scores(scoreFloats),
            // Causal: row i of the block sees keys [0, row + i], so keys past the block's last row are never needed.
            shape.Causal ? item.Row + m : item.Length);
        float scale = 1f / MathF.Sqrt(d);
        if (!shape.Causal)
        {
            // S = Q·Kᵀ [m, keys]; P = softmax(S/√d); O = P·V [m, d], written straight into this head's columns.
            block.Scores(0, m, 0, item.Length);
            for (int i = 0; i < m; i++) Softmax.ScaledRow(block.ScoreRow(i), item.Length, item.Length, scale);
            block.Context(0, m, 0, item.Length, accumulate: false);
            return;
        }
        RunCausal(block, item.Row, m, scale, shape);
    }

    /// <summary>
    /// Causal attention of rows [row, row + m) of a sequence, over the lower triangle of keys only, so a query never
    /// reads a later token (a NaN or ∞ there cannot reach it, and no work is spent past it). In blocks: keys past the
    /// block's last row are never touched; the rectangle of keys [0, row), which every row sees, runs on the GEMM; the
    /// m×m diagonal block's scores come from the same score GEMM, but softmax and P·V read only each row's keys up to
    /// itself, the diagonal's P·V summed in registers key by key. Under a sliding window the block starts at its first
    /// row's first key k0 (keys before it are never read), each row's softmax covers only its own window, and the keys
    /// between k0 and a later row's window get probability 0.
    /// </summary>
    private static void RunCausal(in Block block, int row, int m, float scale, AttentionShape shape)
    {
        int k0 = shape.FirstKey(row);
        block.Scores(0, m, k0, row + m - k0);
        for (int i = 0; i < m; i++)
        {
            int first = shape.FirstKey(row + i);
            float* scores = block.ScoreRow(i);
            Softmax.ScaledRow(scores + first, row + i + 1 - first, row + i + 1 - first, scale);
            if (first > k0) new Span<float>(scores + k0, first - k0).Clear();
        }
        if (row > k0) block.Context(0, m, k0, row - k0, accumulate: false);
        else block.ClearOutput(m);
        for (int i = 0; i < m; i++)
            WeightedRowSum.AddTo(block.OutputRow(i), block.ScoreRow(i) + row, block.ValueRow(row), block.ValueStride, i + 1, block.HeadDim);
    }

    /// <summary>One item's pointers: its query rows, the sequence's key and value heads, its output rows and score block.</summary>
    private readonly struct Block(float* q, float* k, float* v, int ldq, float* o, int ldo, int headDim, GemmWorkspace ws, float* scores, int lds)
    {
        public int HeadDim => headDim;

        public int ValueStride => ldq;

        public float* ScoreRow(int i) => scores + (nint)i * lds;

        public float* OutputRow(int i) => o + (nint)i * ldo;

        public float* ValueRow(int key) => v + (nint)key * ldq;

        /// <summary>S[rows r0 … r0+m, keys k0 … k0+n) = Q·Kᵀ (K read transposed in place: rows of the fused matrix).</summary>
        public void Scores(int r0, int m, int k0, int n) =>
            GemmKernel.Run(new GemmArgs(q + (nint)r0 * ldq, ldq, false, k + (nint)k0 * ldq, ldq, true, ScoreRow(r0) + k0, lds,
                m, n, headDim, false, null, Activation.None), ws);

        /// <summary>O[rows r0 … r0+m) (+)= P[same rows, keys k0 … k0+n)·V[those keys].</summary>
        public void Context(int r0, int m, int k0, int n, bool accumulate) =>
            GemmKernel.Run(new GemmArgs(ScoreRow(r0) + k0, lds, false, ValueRow(k0), ldq, false, OutputRow(r0), ldo,
                m, headDim, n, accumulate, null, Activation.None), ws);

        public void ClearOutput(int m)
        {
            for (int i = 0; i < m; i++) new Span<float>(OutputRow(i), headDim).Clear();
        }
    }
}
