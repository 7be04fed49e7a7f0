using System;
using ShardGen.Costs;
using ShardGen.Planning;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `cost-model`: the α–β model (src/ShardGen/Costs) on GPT-3-sized layers (hidden 12288, MLP 49152, 96 heads,
/// 2048 tokens) for 1, 2, 4, 8 devices on an NVLink-class link, against the commonly quoted speedups.
/// </summary>
internal static class CostModelSuite
{
    public static void Run(Options o)
    {
        const int hidden = 12288, ffn = 49152, heads = 96, tokens = 2048;
        var device = DeviceProfile.H100Class;
        var link = LinkProfile.NvLinkClass;
        var pcie = LinkProfile.PcieClass;
        double[] quoted = { 1, 1.8, 3.2, 5.5 };
        var table = new Table($"cost-model: predicted forward speedup, GPT-3 layers ({tokens} tokens), {device.Name}, {link.Name}, BF16 on the wire",
            "P", "MLP compute ms", "MLP comm ms", "MLP speedup", "block speedup", "block comm share", "quoted", "predicted / quoted (block)", "block on PCIe-class");
        for (int i = 0; i < 4; i++)
        {
            int p = 1 << i;
            var mlp = ModelPlan.Create("Gpt3Mlp", new[]
            {
                new LayerSpec("Up", ParallelStrategy.ColumnParallel, hidden, ffn, true, Activation.Gelu, WeightLayout.InOut),
                new LayerSpec("Down", ParallelStrategy.RowParallel, ffn, hidden, true, Activation.None, WeightLayout.InOut),
            }, p, tokens: tokens);
            var block = ModelPlan.Create("Gpt3Block", new[]
            {
                new LayerSpec("Block", ParallelStrategy.TransformerBlock, hidden, hidden, true, Activation.Gelu, WeightLayout.InOut)
                {
                    Block = new TransformerSpec(heads, heads, ffn, NormKind.LayerNorm, true, 1e-5f),
                },
            }, p, tokens: tokens);
            var cm = CostModel.PredictForward(mlp, tokens, device, link);
            var cb = CostModel.PredictForward(block, tokens, device, link);
            var cp = CostModel.PredictForward(block, tokens, device, pcie);
            table.Add(p, cm.ComputeSeconds * 1e3, cm.CommunicationSeconds * 1e3, cm.Speedup, cb.Speedup, $"{100 * cb.CommunicationShare:F1}%",
                quoted[i], cb.Speedup / quoted[i], cp.Speedup);
        }
        table.Notes.Add("Compute = FLOPs / P at the device's sustained FLOP/s; communication = the plan's bytes per device (BF16) / link bandwidth " +
                        "+ α per ring step; no overlap. The quoted figures (≈1.8×/3.2×/5.5×) are end-to-end training numbers that also " +
                        "pay the backward pass's all-reduces, kernel-launch gaps and smaller per-device GEMMs running below peak; " +
                        "the α–β model with ideal GEMM efficiency is an upper bound.");
        table.Print();
    }
}
