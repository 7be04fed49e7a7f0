using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using ShardGen.Benchmarks;

// dotnet run --project benchmarks/ShardGen.Benchmarks -c Release -- <suite> [--quick]
// Suites: gemm, mlp, collectives, generator, memory, comm-study, cost-model, decode-gemv, load, decode, decode-bf16, layout, gemv-align, train, all. Each prints one table of ratios.
var suites = new Dictionary<string, Action<Options>>
{
    ["gemm"] = GemmSuite.Run,
    ["mlp"] = MlpSuite.Run,
    ["collectives"] = CollectivesSuite.Run,
    ["generator"] = GeneratorSuite.Run,
    ["memory"] = MemorySuite.Run,
    ["comm-study"] = CommStudySuite.Run,
    ["cost-model"] = CostModelSuite.Run,
    ["decode-gemv"] = DecodeGemvSuite.Run,
    ["load"] = LoadSuite.Run,
    ["decode"] = DecodeSuite.Run,
    ["decode-bf16"] = DecodeBFloat16Suite.Run,
    ["layout"] = LayoutSuite.Run,
    ["gemv-align"] = GemvAlignSuite.Run,
    ["train"] = TrainSuite.Run,
    ["decode-ops"] = DecodeOpsSuite.Run,
};
var names = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
if (names.Count == 0 || names.Any(n => n != "all" && !suites.ContainsKey(n)))
{
    Console.Error.WriteLine($"usage: dotnet run --project benchmarks/ShardGen.Benchmarks -c Release -- <{string.Join("|", suites.Keys)}|all> [--quick]");
    return 2;
}
var options = new Options(args.Contains("--quick"));
Console.WriteLine($"ShardGen benchmarks {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC; {Environment.ProcessorCount} cores, {RuntimeInformation.ProcessArchitecture}, " +
                  $"{RuntimeInformation.FrameworkDescription}; GEMM kernel {Probe.KernelName}; load average {Measure.LoadAverage()}");
foreach (var name in names.Contains("all") ? suites.Keys.ToList() : names)
    suites[name](options);
Console.WriteLine();
Console.WriteLine($"load average at the end: {Measure.LoadAverage()}");
return 0;

namespace ShardGen.Benchmarks
{
    /// <summary>Command-line options shared by the suites. Quick: fewer repetitions and sizes (a smoke run).</summary>
    internal sealed record Options(bool Quick)
    {
        public int Repetitions => Quick ? 3 : 7;

        /// <summary>Least seconds one timed sample runs for (Measure.Once).</summary>
        public double MinSeconds => Quick ? 0.05 : 0.2;
    }
}
