using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading;
using ShardGen.Devices;

namespace ShardGen.Kernels;

/// <summary>
/// Backward of scaled dot-product attention over packed sequences, blocked like <see cref="AttentionKernel"/>: per
/// (sequence, query head, block of query rows) the softmax is recomputed from q and k (nothing stored by the forward),
/// P = softmax(s·Q·Kᵀ), dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP))·s; then dQ = dS·K, dK += dSᵀ·Q, dV += Pᵀ·dO, all
/// five products on the packed GEMM. A work item is one (sequence, kv head): it owns that head's key and value rows of
/// the sequence, which collect over the query heads of its group, so items run on a team without locks.
/// </summary>
internal static unsafe class AttentionBackward
{
    /// <summary>
    /// dQkv from qkv (stride ldq) and dOut (stride ldo) for <paramref name="plan"/>'s shape; split over
    /// <paramref name="team"/> when there is one. Every element of dQkv's q|k|v columns is written (overwritten).
    /// </summary>
    public static void Run(float* qkv, int ldq, float* dOut, int ldo, float* dQkv, int ldd, AttentionPlan plan,
        GemmWorkspace[] workspaces, KernelThreadTeam? team)
    {
        int items = (plan.Shape.SequenceStarts.Length - 1) * plan.Shape.KvHeads;
        if (team == null || team.Threads == 1 || items == 1)
        {
            for (int i = 0; i < items; i++) RunItem(i, qkv, ldq, dOut, ldo, dQkv, ldd, plan, workspaces[0]);
            return;
        }
        var job = team.AttentionBackward;
        job.Set(qkv, ldq, dOut, ldo, dQkv, ldd, plan, workspaces);
        team.Run(job);
    }

    /// <summary>The (sequence, kv head) items handed out dynamically to a team's members. Set before each team run.</summary>
    internal sealed class TeamJob : ITeamJob
    {
        private float* _qkv, _dOut, _dQkv;
        private int _ldq, _ldo, _ldd, _next;
        private AttentionPlan? _plan;
        private GemmWorkspace[] _workspaces = [];

        public void Set(float* qkv, int ldq, float* dOut, int ldo, float* dQkv, int ldd, AttentionPlan plan, GemmWorkspace[] workspaces)
        {
            _qkv = qkv;
            _ldq = ldq;
            _dOut = dOut;
            _ldo = ldo;
            _dQkv = dQkv;
            _ldd = ldd;
            _plan = plan;
            _workspaces = workspaces;
            _next = -1;
        }

        public void Run(int member)
        {
            var plan = _plan!;
            int items = (plan.Shape.SequenceStarts.Length - 1) * plan.Shape.KvHeads;
            for (int i = Interlocked.Increment(ref _next); i < items; i = Interlocked.Increment(ref _next))
                RunItem(i, _qkv, _ldq, _dOut, _ldo, _dQkv, _ldd, plan, _workspaces[member]);
        }
    }

    private static void RunItem(int item, float* qkv, int ldq, float* dOut, int ldo, float* dQkv, int ldd, AttentionPlan plan, GemmWorkspace ws)
    {
        var shape = plan.Shape;
        int d = shape.HeadDim, heads = shape.QueryHeads, kvHeads = shape.KvHeads, group = heads / kvHeads;
        int sequence = item / kvHeads, kv = item % kvHeads;
        int start = shape.SequenceStarts[sequence], length = shape.SequenceStarts[sequence + 1] - start;
        int kOff = (heads + kv) * d, vOff = (heads + kvHeads + kv) * d;
        // Two score blocks per thread: P, and dP turned into dS in place.
        float* p = ws.Scores(2 * (nint)plan.ScoreFloats);
        float* ds = p + plan.ScoreFloats;
        int lds = length; // a block's rows × this sequence's keys fit the plan's score block

        float scale = 1f / MathF.Sqrt(d);
        float* q0 = qkv + (nint)start * ldq, dq0 = dQkv + (nint)start * ldd, dO0 = dOut + (nint)start * ldo;
        // Key and value gradients collect over the group's heads and row blocks: start from zero.
        for (int t = 0; t < length; t++)
        {
            new Span<float>(dq0 + (nint)t * ldd + kOff, d).Clear();
            new Span<float>(dq0 + (nint)t * ldd + vOff, d).Clear();
        }
        for (int h = kv * group; h < (kv + 1) * group; h++)
        for (int row = 0; row < length; row += AttentionKernel.BlockRows)
        {
            int m = Math.Min(AttentionKernel.BlockRows, length - row);
            int keys = shape.Causal ? row + m : length;
            // A sliding window: the block reads keys [k0, keys) only, k0 its first row's first key (0 without one).
            int k0 = shape.FirstKey(row), span = keys - k0;
            float* q = q0 + (nint)row * ldq + h * d, dO = dO0 + (nint)row * ldo + h * d, dq = dq0 + (nint)row * ldd + h * d;
            float* kRows = q0 + (nint)k0 * ldq + kOff, vRows = q0 + (nint)k0 * ldq + vOff;
            // P [m, keys] = softmax(s·Q·Kᵀ), each row over the keys it sees (the rest zeroed; columns before k0 unused).
            Gemm(q, ldq, false, kRows, ldq, true, p + k0, lds, m, span, d, false, ws);
            for (int i = 0; i < m; i++)
            {
                int visible = shape.Causal ? row + i + 1 : keys, first = shape.FirstKey(row + i);
                float* pi = p + (nint)i * lds;
                Softmax.ScaledRow(pi + first, visible - first, keys - first, scale);
                if (first > k0) new Span<float>(pi + k0, first - k0).Clear(); // before a later row's window: probability 0
            }
            // dP [m, keys] = dO·Vᵀ, then dS = P ⊙ (dP − Σ P ⊙ dP)·s over the visible keys, zero past them.
            Gemm(dO, ldo, false, vRows, ldq, true, ds + k0, lds, m, span, d, false, ws);
            for (int i = 0; i < m; i++)
            {
                int visible = shape.Causal ? row + i + 1 : keys, first = shape.FirstKey(row + i);
                float* dsi = ds + (nint)i * lds;
                SoftmaxGradientRow(p + (nint)i * lds + first, dsi + first, visible - first, keys - first, scale);
                if (first > k0) new Span<float>(dsi + k0, first - k0).Clear();
            }
            // dQ = dS·K: a causal block's keys [k0, row) on the GEMM, its diagonal row by row up to each row's own key,
            // so a query's gradient never reads a later token's key.
            if (!shape.Causal) Gemm(ds, lds, false, q0 + kOff, ldq, false, dq, ldd, m, d, keys, false, ws);
            else
            {
                if (row > k0) Gemm(ds + k0, lds, false, kRows, ldq, false, dq, ldd, m, d, row - k0, false, ws);
                else for (int i = 0; i < m; i++) new Span<float>(dq + (nint)i * ldd, d).Clear();
                for (int i = 0; i < m; i++)
                    WeightedRowSum.AddTo(dq + (nint)i * ldd, ds + (nint)i * lds + row, q0 + (nint)row * ldq + kOff, ldq, i + 1, d);
            }
            // dK += dSᵀ·Q and dV += Pᵀ·dO over the keys this block sees.
            Gemm(ds + k0, lds, true, q, ldq, false, dq0 + (nint)k0 * ldd + kOff, ldd, span, d, m, true, ws);
            Gemm(p + k0, lds, true, dO, ldo, false, dq0 + (nint)k0 * ldd + vOff, ldd, span, d, m, true, ws);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gemm(float* a, int lda, bool transA, float* b, int ldb, bool transB, float* c, int ldc, int m, int n, int k,
        bool accumulate, GemmWorkspace ws) =>
        GemmKernel.Run(new GemmArgs(a, lda, transA, b, ldb, transB, c, ldc, m, n, k, accumulate, null, Activation.None), ws);

    /// <summary>ds[j] = p[j]·(ds[j] − Σ p·ds)·scale for j &lt; visible (the sum in double), 0 for visible ≤ j &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxGradientRow(float* p, float* ds, int visible, int n, float scale)
    {
        float centre = (float)DotDouble(p, ds, visible);
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var c = Vector512.Create(centre);
            var s = Vector512.Create(scale);
            for (; j + 16 <= visible; j += 16)
                Vector512.Store(Vector512.Load(p + j) * (Vector512.Load(ds + j) - c) * s, ds + j);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var c = Vector256.Create(centre);
            var s = Vector256.Create(scale);
            for (; j + 8 <= visible; j += 8)
                Vector256.Store(Vector256.Load(p + j) * (Vector256.Load(ds + j) - c) * s, ds + j);
        }
        for (; j < visible; j++) ds[j] = p[j] * (ds[j] - centre) * scale;
        if (n > visible) new Span<float>(ds + visible, n - visible).Clear();
    }

    /// <summary>Σ x[i]·y[i] accumulated in double (the row's Σ P·dP cancels against each dP).</summary>
    private static double DotDouble(float* x, float* y, int n)
    {
        int i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var acc = Vector256<double>.Zero;
            for (; i + 4 <= n; i += 4)
            {
                var a = Vector256.WidenLower(Vector128.Load(x + i).ToVector256Unsafe());
                var b = Vector256.WidenLower(Vector128.Load(y + i).ToVector256Unsafe());
                acc = Vector256.FusedMultiplyAdd(a, b, acc);
            }
            sum = Vector256.Sum(acc);
        }
        for (; i < n; i++) sum += (double)x[i] * y[i];
        return sum;
    }
}
