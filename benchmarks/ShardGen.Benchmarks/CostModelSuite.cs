using System;
using ShardGen.Benchmarks.Models;
using ShardGen.Costs;

namespace ShardGen.Benchmarks;

/// <summary>
/// Suite `cost-model`: the α–β model (src/ShardGen/Costs) on GPT-3-sized layers (hidden 12288, MLP 49152, 96 heads,
/// 2048 tokens) for 1, 2, 4, 8 devices on an NVLink-class link, against the commonly quoted speedups.
/// </summary>
internal static class CostModelSuite
{
    public static void Run(Options o)
    {
        const int tokens = 2048;
        var device = DeviceProfile.H100Class;
        var link = LinkProfile.NvLinkClass;
        var pcie = LinkProfile.PcieClass;
        double[] quoted = { 1, 1.8, 3.2, 5.5 };
        var table = new Table($"cost-model: predicted forward speedup, GPT-3 layers ({tokens} tokens), {device.Name}, {link.Name}, BF16 on the wire",
            "P", "MLP compute ms", "MLP comm ms", "MLP speedup", "block speedup", "block comm share", "quoted", "predicted / quoted (block)", "block on PCIe-class");
        for (int i = 0; i < 4; i++)
        {
            int p = 1 << i;
            var mlp = Gpt3Mlp.PlanFor(p, tokens);
            var block = Gpt3Block.PlanFor(p, tokens);
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
