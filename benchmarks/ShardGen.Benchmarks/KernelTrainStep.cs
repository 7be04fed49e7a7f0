using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Checkpoints;
using ShardGen.Devices;

namespace ShardGen.Benchmarks;

/// <summary>
/// A LLaMA training step (forward keeping its activations, vocab-parallel cross-entropy, backward, AdamW) written
/// straight on the device API, Megatron-style over P devices: q|k|v and gate|up column-parallel, o and down
/// row-parallel (their partial outputs all-reduced), embedding and head vocab-parallel, norms replicated. It is the
/// same sequence of kernels and collectives a generated ForwardBackward runs, so the `train` suite can time the
/// kernels before (and next to) the generated model. Weights come from a checkpoint, read shard by shard.
/// </summary>
internal sealed class KernelTrainStep : IDisposable
{
    private readonly DeviceMesh _mesh;
    private readonly Shard[] _shards;
    private readonly int _tokens, _seq, _h, _d, _layers, _vocab;
    private readonly float _eps, _theta;
    private readonly int[] _positions;
    private readonly AttentionShape[] _shapes;
    private int _step;

    public KernelTrainStep(DeviceMesh mesh, string checkpointDirectory, int batch, int seq)
    {
        _mesh = mesh;
        using var ck = Checkpoint.Open(checkpointDirectory);
        var c = ck.Config;
        int p = mesh.Size;
        _h = c.Hidden;
        _layers = c.Layers;
        _vocab = c.Vocab;
        _d = c.Hidden / c.Heads;
        _eps = c.NormEpsilon;
        _theta = c.RopeTheta;
        _seq = seq;
        _tokens = batch * seq;
        _positions = Enumerable.Range(0, _tokens).Select(t => t % seq).ToArray();
        var starts = Enumerable.Range(0, batch + 1).Select(b => b * seq).ToArray();
        _shards = new Shard[p];
        _shapes = new AttentionShape[p];
        for (int r = 0; r < p; r++)
        {
            _shards[r] = new Shard(mesh.Devices[r], ck, r, p, _tokens);
            _shapes[r] = new AttentionShape(c.Heads / p, c.KvHeads / p, _d, true, starts);
        }
    }

    /// <summary>All float32 elements this step holds on device 0: weights, gradients, AdamW's two states, kept activations and scratch.</summary>
    public long Device0Bytes => _mesh.Devices[0].AllocatedBytes;

    /// <summary>One step on a batch (inputs and targets of B·L tokens); returns the mean loss over the targets.</summary>
    public double Step(int[] inputs, int[] targets, float learningRate)
    {
        _step++;
        int p = _shards.Length;
        // Forward, keeping per layer: the stream in, a2, rotated q|k|v, context, the stream mid, m, gate|up, act.
        Each("zero, embedding", (s, r) =>
        {
            foreach (var g in s.Gradients) s.Device.Scale(g, 0f);
            s.Device.Gather(inputs, r * s.VocabRows, s.Embed, s.X);
        });
        AllReduce(s => s.X);
        for (int l = 0; l < _layers; l++)
        {
            int layer = l;
            Each("attention block", (s, r) =>
            {
                var a = s.Acts[layer];
                var dev = s.Device;
                dev.Copy(s.X, a.Stream);
                dev.Normalize(s.X, a.A2, NormKind.RmsNorm, s.Layers[layer].Norm1, null, _eps);
                dev.Gemm(a.A2, false, s.Layers[layer].Qkv, false, a.Qkv, false);
                dev.Rotary(a.Qkv.Columns(0, (_shapes[r].QueryHeads + _shapes[r].KvHeads) * _d), _shapes[r].QueryHeads + _shapes[r].KvHeads, _d, _positions, _theta);
                dev.Attention(a.Qkv, a.Context, _shapes[r]);
                dev.Gemm(a.Context, false, s.Layers[layer].O, false, s.Partial, false);
            });
            ReduceInto();
            Each("MLP block", (s, r) =>
            {
                var a = s.Acts[layer];
                var dev = s.Device;
                dev.Copy(s.X, a.Mid);
                dev.Normalize(s.X, a.M, NormKind.RmsNorm, s.Layers[layer].Norm2, null, _eps);
                dev.Gemm(a.M, false, s.Layers[layer].GateUp, false, a.GateUp, false);
                dev.GatedActivation(a.GateUp, a.Act, Activation.Silu);
                dev.Gemm(a.Act, false, s.Layers[layer].Down, false, s.Partial, false);
            });
            ReduceInto();
        }
        // Head and the vocab-parallel loss: each device's max and target logit in its own column, summed across devices.
        Each("final norm, head, statistics", (s, r) =>
        {
            var dev = s.Device;
            dev.Copy(s.X, s.Final);
            dev.Normalize(s.X, s.Normed, NormKind.RmsNorm, s.FinalNorm, null, _eps);
            dev.Gemm(s.Normed, false, s.Head, true, s.Logits, false);
            dev.Scale(s.Maxima, 0f);
            dev.LogitStatistics(s.Logits, targets, r * s.VocabRows, s.Maxima.Columns(r, 1), s.TargetLogit);
        });
        AllReduce(s => s.Maxima);
        AllReduce(s => s.TargetLogit);
        Each("sum of exponentials", (s, r) => s.Device.LogitSumExp(s.Logits, s.Maxima, s.SumExp));
        AllReduce(s => s.SumExp);
        Each("cross-entropy gradient", (s, r) => s.Device.CrossEntropyGradient(s.Logits, targets, r * s.VocabRows, s.Maxima, s.SumExp, 1f / _tokens, s.Logits));
        // Backward.
        Each("head backward", (s, r) =>
        {
            s.Device.Gemm(s.Logits, false, s.Head, false, s.Partial, false);
            s.Device.Gemm(s.Logits, true, s.Normed, false, s.HeadGrad, true);
        });
        AllReduce(s => s.Partial);
        Each("final norm backward", (s, r) => s.Device.NormalizeBackward(s.Final, s.Partial, NormKind.RmsNorm, s.FinalNorm, _eps, s.DStream, s.FinalNormGrad, null));
        for (int l = _layers - 1; l >= 0; l--)
        {
            int layer = l;
            Each("MLP backward", (s, r) =>
            {
                var a = s.Acts[layer];
                var w = s.Layers[layer];
                var gr = s.LayerGrads[layer];
                var dev = s.Device;
                dev.Gemm(s.DStream, false, w.Down, true, s.DAct, false);
                dev.Gemm(a.Act, true, s.DStream, false, gr.Down, true);
                dev.GatedActivationBackward(a.GateUp, s.DAct, s.DGateUp, Activation.Silu);
                dev.Gemm(s.DGateUp, false, w.GateUp, true, s.Partial, false);
                dev.Gemm(a.M, true, s.DGateUp, false, gr.GateUp, true);
            });
            AllReduce(s => s.Partial);
            Each("MLP norm and o backward", (s, r) =>
            {
                var a = s.Acts[layer];
                var w = s.Layers[layer];
                var gr = s.LayerGrads[layer];
                var dev = s.Device;
                dev.NormalizeBackward(a.Mid, s.Partial, NormKind.RmsNorm, w.Norm2, _eps, s.Partial, gr.Norm2, null);
                dev.Add(s.Partial, s.DStream);
                dev.Gemm(s.DStream, false, w.O, true, s.DContext, false);
                dev.Gemm(a.Context, true, s.DStream, false, gr.O, true);
            });
            Each("attention kernel backward", (s, r) =>
            {
                var a = s.Acts[layer];
                var w = s.Layers[layer];
                var gr = s.LayerGrads[layer];
                var dev = s.Device;
                dev.AttentionBackward(a.Qkv, s.DContext, s.DQkv, _shapes[r]);
                dev.RotaryBackward(s.DQkv.Columns(0, (_shapes[r].QueryHeads + _shapes[r].KvHeads) * _d), _shapes[r].QueryHeads + _shapes[r].KvHeads, _d, _positions, _theta);
                dev.Gemm(s.DQkv, false, w.Qkv, true, s.Partial, false);
                dev.Gemm(a.A2, true, s.DQkv, false, gr.Qkv, true);
            });
            AllReduce(s => s.Partial);
            Each("attention norm backward", (s, r) =>
            {
                var a = s.Acts[layer];
                s.Device.NormalizeBackward(a.Stream, s.Partial, NormKind.RmsNorm, s.Layers[layer].Norm1, _eps, s.Partial, s.LayerGrads[layer].Norm1, null);
                s.Device.Add(s.Partial, s.DStream);
            });
        }
        Each("embedding backward", (s, r) => s.Device.ScatterAddRows(inputs, r * s.VocabRows, s.DStream, s.EmbedGrad));
        // AdamW on every parameter shard (replicated norms get the same update on every device).
        Each("AdamW", (s, r) =>
        {
            for (int i = 0; i < s.Parameters.Count; i++)
                s.Device.AdamWStep(s.Parameters[i], s.Gradients[i], s.MomentA[i], s.MomentB[i], learningRate, 0.9f, 0.999f, 1e-8f, 0.01f, _step);
        });
        foreach (var s in _shards) s.Device.Synchronize();
        return _shards[0].Loss();
    }

    /// <summary>Seconds per kernel group, when profiling (each group then waits for the devices: slower steps).</summary>
    public Dictionary<string, double>? Profile { get; set; }

    private void Each(string what, Action<Shard, int> work)
    {
        var clock = Profile == null ? null : System.Diagnostics.Stopwatch.StartNew();
        for (int r = 0; r < _shards.Length; r++) work(_shards[r], r);
        if (clock == null) return;
        foreach (var s in _shards) s.Device.Synchronize();
        Profile![what] = Profile.GetValueOrDefault(what) + clock.Elapsed.TotalSeconds;
    }

    private void AllReduce(Func<Shard, MatrixView> view)
    {
        if (_shards.Length > 1) _mesh.Collectives.AllReduce(_mesh.World, _shards.Select(view).ToArray());
    }

    /// <summary>x += Σ over devices of the row-parallel partial outputs.</summary>
    private void ReduceInto()
    {
        AllReduce(s => s.Partial);
        Each("residual add", (s, r) => s.Device.Add(s.Partial, s.X));
    }

    public void Dispose()
    {
        foreach (var s in _shards) s.Dispose();
    }

    private sealed record LayerWeights(MatrixView Norm1, MatrixView Qkv, MatrixView O, MatrixView Norm2, MatrixView GateUp, MatrixView Down);

    private sealed record Activations(MatrixView Stream, MatrixView A2, MatrixView Qkv, MatrixView Context, MatrixView Mid, MatrixView M,
        MatrixView GateUp, MatrixView Act);

    /// <summary>One device's shards of the weights, their gradients and AdamW states, its activations and scratch.</summary>
    private sealed class Shard : IDisposable
    {
        private readonly List<DeviceBuffer> _buffers = new();
        private readonly int _tokens;

        public Shard(Device device, Checkpoint ck, int rank, int p, int tokens)
        {
            Device = device;
            _tokens = tokens;
            var c = ck.Config;
            int h = c.Hidden, d = h / c.Heads, heads = c.Heads / p, kv = c.KvHeads / p, ffn = c.FfnHidden / p;
            VocabRows = c.Vocab / p;
            int qkvCols = (heads + 2 * kv) * d;
            Embed = Param(VocabRows, h, ck, dst => ck.Read("model.embed_tokens.weight", rank * VocabRows, VocabRows, 0, h, false, dst));
            for (int l = 0; l < c.Layers; l++)
            {
                string pre = $"model.layers.{l}.";
                var norm1 = Param(1, h, ck, dst => ck.Read(pre + "input_layernorm.weight", 0, 1, 0, h, false, dst));
                var qkv = Param(h, qkvCols, ck, dst =>
                {
                    // [in, q | k | v] of this device's heads: the [out, in] weights' rows, transposed.
                    var part = new float[h * Math.Max(heads, kv) * d];
                    int col = 0;
                    foreach (var (name, n) in new[] { ("q_proj", heads), ("k_proj", kv), ("v_proj", kv) })
                    {
                        ck.Read(pre + $"self_attn.{name}.weight", 0, h, rank * n * d, n * d, true, part.AsSpan(0, h * n * d));
                        for (int i = 0; i < h; i++) part.AsSpan(i * n * d, n * d).CopyTo(dst.Slice(i * qkvCols + col, n * d));
                        col += n * d;
                    }
                });
                var o = Param(heads * d, h, ck, dst => ck.Read(pre + "self_attn.o_proj.weight", rank * heads * d, heads * d, 0, h, true, dst));
                var norm2 = Param(1, h, ck, dst => ck.Read(pre + "post_attention_layernorm.weight", 0, 1, 0, h, false, dst));
                var gateUp = Param(h, 2 * ffn, ck, dst =>
                {
                    var part = new float[h * ffn];
                    int col = 0;
                    foreach (string name in new[] { "gate_proj", "up_proj" })
                    {
                        ck.Read(pre + $"mlp.{name}.weight", 0, h, rank * ffn, ffn, true, part);
                        for (int i = 0; i < h; i++) part.AsSpan(i * ffn, ffn).CopyTo(dst.Slice(i * 2 * ffn + col, ffn));
                        col += ffn;
                    }
                });
                var down = Param(ffn, h, ck, dst => ck.Read(pre + "mlp.down_proj.weight", rank * ffn, ffn, 0, h, true, dst));
                Layers.Add(new LayerWeights(norm1, qkv, o, norm2, gateUp, down));
                int first = Parameters.Count - 6;
                LayerGrads.Add(new LayerWeights(Gradients[first], Gradients[first + 1], Gradients[first + 2], Gradients[first + 3], Gradients[first + 4], Gradients[first + 5]));
                Acts.Add(new Activations(Alloc(tokens, h), Alloc(tokens, h), Alloc(tokens, qkvCols), Alloc(tokens, heads * d), Alloc(tokens, h),
                    Alloc(tokens, h), Alloc(tokens, 2 * ffn), Alloc(tokens, ffn)));
            }
            FinalNorm = Param(1, h, ck, dst => ck.Read("model.norm.weight", 0, 1, 0, h, false, dst));
            string head = ck.Contains("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight";
            Head = Param(VocabRows, h, ck, dst => ck.Read(head, rank * VocabRows, VocabRows, 0, h, false, dst));
            EmbedGrad = Gradients[0];
            FinalNormGrad = Gradients[^2];
            HeadGrad = Gradients[^1];
            X = Alloc(tokens, h);
            Final = Alloc(tokens, h);
            Normed = Alloc(tokens, h);
            Logits = Alloc(tokens, VocabRows);
            Maxima = Alloc(tokens, p);
            TargetLogit = Alloc(tokens, 1);
            SumExp = Alloc(tokens, 1);
            Partial = Alloc(tokens, h);
            DStream = Alloc(tokens, h);
            DAct = Alloc(tokens, ffn);
            DGateUp = Alloc(tokens, 2 * ffn);
            DContext = Alloc(tokens, heads * d);
            DQkv = Alloc(tokens, qkvCols);
        }

        public Device Device { get; }
        public int VocabRows { get; }
        public List<MatrixView> Parameters { get; } = new();
        public List<MatrixView> Gradients { get; } = new();
        public List<MatrixView> MomentA { get; } = new();
        public List<MatrixView> MomentB { get; } = new();
        public List<LayerWeights> Layers { get; } = new();
        public List<LayerWeights> LayerGrads { get; } = new();
        public List<Activations> Acts { get; } = new();
        public MatrixView Embed, FinalNorm, Head, EmbedGrad, FinalNormGrad, HeadGrad;
        public MatrixView X, Final, Normed, Logits, Maxima, TargetLogit, SumExp, Partial, DStream, DAct, DGateUp, DContext, DQkv;

        private MatrixView Alloc(int rows, int cols)
        {
            var b = Device.Allocate(rows * cols);
            _buffers.Add(b);
            return b.AsMatrix(rows, cols);
        }

        /// <summary>A parameter read by <paramref name="read"/>, with a gradient and two AdamW states of its shape (zeros).</summary>
        private MatrixView Param(int rows, int cols, Checkpoint ck, SpanAction read)
        {
            var host = new float[rows * cols];
            read(host);
            var w = Alloc(rows, cols);
            Device.Upload(host, cols, w);
            Array.Clear(host);
            Parameters.Add(w);
            foreach (var list in new[] { Gradients, MomentA, MomentB })
            {
                var z = Alloc(rows, cols);
                Device.Upload(host, cols, z);
                list.Add(z);
            }
            return w;
        }

        /// <summary>Mean over the tokens of log Σ exp(l − max) + max − l_target (device 0's reduced copies).</summary>
        public double Loss()
        {
            var max = Download(Maxima);
            var target = Download(TargetLogit);
            var sum = Download(SumExp);
            int k = Maxima.Cols;
            double total = 0;
            for (int t = 0; t < _tokens; t++)
            {
                float m = max[t * k];
                for (int i = 1; i < k; i++) m = Math.Max(m, max[t * k + i]);
                total += Math.Log(sum[t]) + m - target[t];
            }
            return total / _tokens;
        }

        private float[] Download(MatrixView v)
        {
            var host = new float[v.Rows * v.Cols];
            Device.Download(v, host, v.Cols);
            return host;
        }

        public void Dispose()
        {
            foreach (var b in _buffers) b.Dispose();
        }
    }

    private delegate void SpanAction(Span<float> destination);
}
