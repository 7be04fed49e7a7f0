using System;
using System.IO;
using System.Linq;
using ShardGen.Ilgpu.Tests.Samples;
using ShardGen.Tests.LanguageModel;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// A Qwen2 checkpoint with full attention in layers 0–1 and a window of 3 in layers 2–3 (use_sliding_window,
/// max_window_layers = 2) on two ILGPU CPU-accelerator devices: logits against hf_reference.py (PyTorch float64, its own
/// per-layer rule), and decoding through the KV cache against the full pass.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public sealed class LayerWindowModelTests
{
    [TorchFact]
    public void Full_and_windowed_layers_match_PyTorch_and_decode_with_the_cache()
    {
        string dir = Directory.CreateTempSubdirectory("shardgen-ilgpu-lw-").FullName;
        try
        {
            TorchReference.Run("make", dir, "--model-type", "qwen2", "--heads", "4", "--kv-heads", "2", "--hidden", "48", "--layers", "4",
                "--seed", "9", "--use-sliding-window", "--sliding-window", "3", "--max-window-layers", "2");
            var rng = new Random(9);
            int[] ids = Enumerable.Range(0, 9).Select(_ => rng.Next(1003)).ToArray();
            string reference = Path.Combine(dir, "reference.npy");
            TorchReference.Run("logits", dir, "--ids", string.Join(',', ids), "--out", reference);
            var (theirs, shape) = Npy.Read(reference);

            using ILanguageModel model = Llama.Load(IlgpuMeshes.Cpu(2), dir);
            var logits = model.Forward(ids, null);
            int vocab = shape[1];
            double max = theirs.Max(Math.Abs), error = 0;
            for (int t = 0; t < ids.Length; t++)
                for (int v = 0; v < vocab; v++) error = Math.Max(error, Math.Abs(logits[t, v] - theirs[t * vocab + v]));
            Assert.True(error <= 1e-4 * max, $"max |ours − torch| = {error:E2}, max |torch| = {max:E2}");

            using var cache = model.CreateCache(16);
            model.Forward(ids.Take(4).ToArray(), cache);
            for (int t = 4; t < ids.Length; t++)
            {
                var step = model.Forward([ids[t]], cache);
                double diff = 0, scale = 0;
                for (int v = 0; v < vocab; v++)
                {
                    diff = Math.Max(diff, Math.Abs(step[0, v] - logits[t, v]));
                    scale = Math.Max(scale, Math.Abs(logits[t, v]));
                }
                Assert.True(diff <= 1e-5 * scale, $"token {t}: cache decode differs from the full pass by {diff / scale:E2}");
            }
        }
        finally { Directory.Delete(dir, true); }
    }
}
