using System;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using ShardGen.Ilgpu.Kernels;
using Xunit.Abstractions;

namespace ShardGen.Ilgpu.Tests.Ptx;

/// <summary>
/// The CUDA path without a GPU: every kernel of the backend compiles to PTX for sm_90, and the GEMM's PTX has the
/// shape a fast SGEMM needs (accumulators in registers, vector shared-memory reads, 64 multiply-adds per step).
/// </summary>
public sealed partial class PtxCompilationTests(ITestOutputHelper output)
{
    private static readonly Lazy<string> GemmPtx = new(() => PtxCompiler.Compile(Kernel(typeof(GemmKernel), nameof(GemmKernel.Gemm))));

    /// <summary>
    /// The kernels of <see cref="DeviceKernels"/> and <see cref="DecoderKernels"/> as "Class.Method": their void methods
    /// (Activate and Erf are device functions they call).
    /// </summary>
    private static readonly string[] KernelNames = new[] { typeof(DeviceKernels), typeof(DecoderKernels) }
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.ReturnType == typeof(void)).Select(m => $"{t.Name}.{m.Name}"))
        .ToArray();

    public static TheoryData<string> KernelCases() => new(KernelNames);

    [Theory]
    [MemberData(nameof(KernelCases))]
    public void Every_kernel_compiles_to_ptx(string name)
    {
        string ptx = PtxCompiler.Compile(Kernel(name));
        Assert.Matches(TargetLine(), ptx);
        Assert.Single(EntryPoints().Matches(ptx));
    }

    [Fact]
    public void Gemm_keeps_its_register_tile_out_of_local_memory()
    {
        string ptx = GemmPtx.Value;
        Assert.Matches(TargetLine(), ptx);
        // Local memory (.local) is off-chip: an accumulator there would make every multiply-add a memory round trip.
        Assert.DoesNotContain(".local", ptx);
        Assert.DoesNotContain("ld.local", ptx);
    }

    [Fact]
    public void Gemm_reads_shared_memory_four_floats_at_a_time()
    {
        string ptx = GemmPtx.Value;
        // The rank-1 step reads a's two Float4s and b's two Float4s: at least 4 vector loads in the loop body.
        int vectorLoads = Regex.Matches(ptx, @"ld\.shared\.v4\.f32").Count;
        int scalarSharedLoads = Regex.Matches(ptx, @"ld\.shared\.f32").Count;
        output.WriteLine($"ld.shared.v4.f32: {vectorLoads}, ld.shared.f32: {scalarSharedLoads}");
        Assert.True(vectorLoads >= 4, $"expected ≥ 4 ld.shared.v4.f32, found {vectorLoads}");
        Assert.Equal(0, scalarSharedLoads);
    }

    [Fact]
    public void Gemm_step_has_64_multiply_adds()
    {
        string ptx = GemmPtx.Value;
        // ILGPU emits c + a·b as mul.f32 then add.f32 (ptxas fuses them) or as fma.rn.f32; either way 64 per step.
        int fma = Regex.Matches(ptx, @"\bfma\.rn\.f32\b").Count;
        int mul = Regex.Matches(ptx, @"\bmul(\.rn)?\.f32\b").Count;
        output.WriteLine($"fma.rn.f32: {fma}, mul.f32: {mul}");
        Assert.True(fma + mul >= 64, $"expected ≥ 64 multiply(-add)s, found fma {fma} + mul {mul}");
    }

    [PtxasFact]
    public void Gemm_assembles_for_sm90_without_spills()
    {
        string report = PtxCompiler.Assemble(GemmPtx.Value);
        output.WriteLine(report);
        var registers = Regex.Match(report, @"Used (\d+) registers");
        Assert.True(registers.Success, report);
        // 64 accumulators + 16 operands + addressing; 255 is the hardware cap, and 128 keeps 2 groups of 256 per SM.
        Assert.InRange(int.Parse(registers.Groups[1].Value), 64, 128);
        Assert.Matches(@"0 bytes spill stores, 0 bytes spill loads", report);
        Assert.Matches(@"0 bytes stack frame", report);
    }

    [PtxasFact]
    public void Gemm_machine_code_between_barriers_is_fma_and_vector_loads()
    {
        // The staged-tile compute of one K step sits between the two bar.syncs: 8 rank-1 updates of 64 FFMA and
        // 4 LDS.128 each. Whatever else ptxas puts there is issue slots taken from the FFMAs.
        var sass = PtxCompiler.Disassemble(GemmPtx.Value).Split('\n');
        int[] barriers = sass.Select((line, i) => (line, i)).Where(x => x.line.Contains("BAR.SYNC")).Select(x => x.i).ToArray();
        Assert.Equal(2, barriers.Length);
        var opcodes = sass[barriers[0]..barriers[1]]
            .Select(line => Regex.Match(line, @"^\s*/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)"))
            .Where(m => m.Success).Select(m => m.Groups[1].Value).Where(op => op != "BAR.SYNC").ToList();
        int ffma = opcodes.Count(op => op == "FFMA"), vectorLoads = opcodes.Count(op => op == "LDS.128");
        output.WriteLine($"between the barriers: {opcodes.Count} instructions, {ffma} FFMA, {vectorLoads} LDS.128; others: " +
            string.Join(", ", opcodes.Where(op => op is not "FFMA" and not "LDS.128").GroupBy(op => op).Select(g => $"{g.Key}×{g.Count()}")));
        Assert.Equal(8 * 64, ffma);
        Assert.Equal(8 * 4, vectorLoads);
        Assert.True(ffma >= 0.9 * opcodes.Count, $"FFMA are {ffma} of {opcodes.Count} instructions");
    }

    [PtxasFact]
    public void Every_kernel_assembles_for_sm90()
    {
        foreach (var name in KernelNames)
        {
            string report = PtxCompiler.Assemble(PtxCompiler.Compile(Kernel(name)));
            output.WriteLine($"{name}: {report.Trim()}");
            Assert.Matches(@"Used \d+ registers", report);
        }
    }

    private static MethodInfo Kernel(Type type, string name) =>
        type.GetMethods(BindingFlags.Public | BindingFlags.Static).Single(m => m.Name == name);

    /// <summary>A kernel named "Class.Method" (a class of the backend's kernels).</summary>
    private static MethodInfo Kernel(string qualified)
    {
        string[] parts = qualified.Split('.');
        var type = typeof(DeviceKernels).Assembly.GetType($"{typeof(DeviceKernels).Namespace}.{parts[0]}", throwOnError: true)!;
        return Kernel(type, parts[1]);
    }

    // ILGPU writes the PTX for its highest known target (sm_80 for an sm_90 capability); the driver, like ptxas
    // below, compiles that PTX for the H100/H200.
    [GeneratedRegex(@"\.target\s+sm_[89]\d\b")]
    private static partial Regex TargetLine();

    [GeneratedRegex(@"\.entry\s")]
    private static partial Regex EntryPoints();
}
