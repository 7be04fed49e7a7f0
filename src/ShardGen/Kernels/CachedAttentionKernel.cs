using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading;
using ShardGen.Devices;

namespace ShardGen.Kernels;

/// <summary>
/// Attention of T new tokens of one sequence against a KV cache. Their key and value heads are appended to the caches
/// first; then, per (key/value head, new token), the group of query heads that share the kv head read each cache row
/// once: scores q·k for every query of the group, the scaled softmax, then o += p·v row by row. Decode (T = 1) is
/// memory-bound over the cache, and this order reads K and V from memory once per kv head (on one thread, once per
/// token: all kv heads of a cache row together, front to back). A first chunk (nothing
/// cached) is plain causal attention over the fused input and runs on the blocked <see cref="AttentionKernel"/>.
/// </summary>
internal static unsafe class CachedAttentionKernel
{
    /// <summary>Where the pieces are: fused input, output, caches (row strides in floats) and the problem.</summary>
    internal readonly struct Problem(float* qkv, int ldq, float* output, int ldo, float* keys, int ldk, float* values, int ldv,
        AttentionShape shape, int tokens, int cached)
    {
        public readonly float* Qkv = qkv, Output = output, Keys = keys, Values = values;
        public readonly int Ldq = ldq, Ldo = ldo, Ldk = ldk, Ldv = ldv, Tokens = tokens, Cached = cached;
        public readonly AttentionShape Shape = shape;

        public int Items => Shape.KvHeads * Tokens;

        /// <summary>Scratch per thread: the group's scores over the longest row, then its output accumulators.</summary>
        public int ScratchFloats => Shape.QueryHeads / Shape.KvHeads * (Cached + Tokens + Shape.HeadDim);

        /// <summary>
        /// Scratch of <see cref="RunToken"/>: every query head's scores, then its output accumulators; keys counted up to a
        /// multiple of 256, so a decode's cache, one key longer each step, reallocates it once in 256 steps, not every step.
        /// </summary>
        public int TokenScratchFloats => Shape.QueryHeads * ((Cached + Tokens + 255) / 256 * 256 + Shape.HeadDim);
    }

    /// <summary>
    /// Appends the new keys and values, then runs every (kv head, token) item over the team when there is one; on one
    /// thread, token by token with all kv heads at once (<see cref="RunToken"/>).
    /// </summary>
    public static void Run(in Problem p, GemmWorkspace[] workspaces, KernelThreadTeam? team)
    {
        Append(p);
        int threads = team?.Threads ?? 1;
        if (threads == 1 || p.Items == 1)
        {
            for (int t = 0; t < p.Tokens; t++) RunToken(p, t, workspaces[0]);
            return;
        }
        var job = team!.CachedAttention;
        job.Set(p, workspaces);
        team.Run(job);
    }

    /// <summary>Copies the new tokens' key and value heads into cache rows [Cached, Cached + Tokens).</summary>
    public static void Append(in Problem p)
    {
        var s = p.Shape;
        int width = s.KvHeads * s.HeadDim;
        for (int t = 0; t < p.Tokens; t++)
        {
            float* row = p.Qkv + (nint)t * p.Ldq + s.QueryHeads * s.HeadDim;
            Elementwise.CopyRow(row, p.Keys + (nint)(p.Cached + t) * p.Ldk, width);
            Elementwise.CopyRow(row + width, p.Values + (nint)(p.Cached + t) * p.Ldv, width);
        }
    }

    /// <summary>Items handed out dynamically to a team's members; set before each team run.</summary>
    internal sealed class TeamJob : ITeamJob
    {
        private Problem _problem;
        private GemmWorkspace[] _workspaces = [];
        private int _next;

        public void Set(in Problem problem, GemmWorkspace[] workspaces)
        {
            _problem = problem;
            _workspaces = workspaces;
            _next = -1;
        }

        public void Run(int member)
        {
            for (int i = Interlocked.Increment(ref _next); i < _problem.Items; i = Interlocked.Increment(ref _next))
                RunItem(_problem, i, _workspaces[member]);
        }
    }

    /// <summary>Item i: kv head i mod KvHeads, new token i / KvHeads (later tokens, with more keys, come last).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunItem(in Problem p, int item, GemmWorkspace ws)
    {
        var s = p.Shape;
        int d = s.HeadDim, group = s.QueryHeads / s.KvHeads;
        int kvHead = item % s.KvHeads, token = item / s.KvHeads;
        int keys = p.Cached + token + 1;
        float* scores = ws.Scores(p.ScratchFloats);
        float* sums = scores + (nint)group * keys;
        float* q = p.Qkv + (nint)token * p.Ldq + kvHead * group * d;
        float* k = p.Keys + kvHead * d;
        float* v = p.Values + kvHead * d;
        float scale = 1f / MathF.Sqrt(d);

        // Scores: each key row once, against every query of the group (the row stays in L1 across the group).
        // A sliding window: only cache rows [first, keys) are read (the cache keeps every row).
        int first = s.FirstKey(keys - 1);
        for (int j = first; j < keys; j++)
        {
            float* kj = k + (nint)j * p.Ldk;
            for (int g = 0; g < group; g++) scores[(nint)g * keys + j] = RowMath.Dot(q + g * d, kj, d);
        }
        for (int g = 0; g < group; g++) Softmax.ScaledRow(scores + (nint)g * keys + first, keys - first, keys - first, scale);

        // Context: each value row once, added into every query's sum (group × d floats, in L1).
        new Span<float>(sums, group * d).Clear();
        for (int j = first; j < keys; j++)
        {
            float* vj = v + (nint)j * p.Ldv;
            for (int g = 0; g < group; g++) RowMath.AddScaled(sums + g * d, scores[(nint)g * keys + j], vj, d);
        }
        for (int g = 0; g < group; g++)
            Elementwise.CopyRow(sums + g * d, p.Output + (nint)token * p.Ldo + (kvHead * group + g) * d, d);
    }

    /// <summary>
    /// Every kv head of one new token on one thread, cache row by cache row: a row's keys (and values) of all kv heads
    /// sit side by side, so the caches are read front to back in whole rows that the prefetchers stream. Kv head by
    /// kv head, the reads are [HeadDim] pieces a row stride apart, each a wait on memory (the weights streamed since
    /// the last step evicted the caches): 2.3× slower in a decode step of the 492 M LLaMA. The same sums in the same
    /// order as <see cref="RunItem"/>, so both give the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunToken(in Problem p, int token, GemmWorkspace ws)
    {
        var s = p.Shape;
        int d = s.HeadDim, heads = s.QueryHeads, group = heads / s.KvHeads;
        int keys = p.Cached + token + 1;
        float* scores = ws.Scores(p.TokenScratchFloats);
        float* sums = scores + (nint)heads * keys;
        float* q = p.Qkv + (nint)token * p.Ldq;
        float scale = 1f / MathF.Sqrt(d);
        int first = s.FirstKey(keys - 1);
        for (int j = first; j < keys; j++)
        {
            float* kj = p.Keys + (nint)j * p.Ldk;
            for (int h = 0; h < heads; h++) scores[(nint)h * keys + j] = RowMath.Dot(q + h * d, kj + h / group * d, d);
        }
        for (int h = 0; h < heads; h++) Softmax.ScaledRow(scores + (nint)h * keys + first, keys - first, keys - first, scale);

        new Span<float>(sums, heads * d).Clear();
        for (int j = first; j < keys; j++)
        {
            float* vj = p.Values + (nint)j * p.Ldv;
            for (int h = 0; h < heads; h++) RowMath.AddScaled(sums + h * d, scores[(nint)h * keys + j], vj + h / group * d, d);
        }
        for (int h = 0; h < heads; h++) Elementwise.CopyRow(sums + h * d, p.Output + (nint)token * p.Ldo + h * d, d);
    }
}
