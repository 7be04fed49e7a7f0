using System;
using System.IO;
using System.Linq;
using ShardGen.TestSupport;

namespace ShardGen.Ilgpu.Tests.Samples;

/// <summary>
/// The samples' --backend option: a bad value or a backend this machine lacks is one line on stderr and exit code 2
/// (no stack trace), and --mpi takes only the CPU backend. The emulator runs themselves are the model tests' job
/// (a sample forward on ilgpu-cpu takes seconds).
/// </summary>
public sealed class SampleBackendTests
{
    public static TheoryData<string> Samples => new() { "MegatronMlp", "TransformerBlock" };

    [Theory]
    [MemberData(nameof(Samples))]
    public void UnknownBackend_IsOneLineNamingTheChoices_ExitCode2(string sample)
    {
        var run = RunSample(sample, "--backend", "tpu");
        AssertOneLineError(run, "--backend 'tpu' is not a backend: use one of cpu, ilgpu-cpu, cuda, opencl.");
        Assert.True(run.Output.Trim() == run.Error.Trim(), "nothing but the error may be printed\n" + run.Describe());
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void MissingBackendValue_IsOneLine_ExitCode2(string sample) =>
        AssertOneLineError(RunSample(sample, "--backend"), "--backend needs a value: one of cpu, ilgpu-cpu, cuda, opencl.");

    [Theory]
    [InlineData("MegatronMlp", "cuda")]
    [InlineData("MegatronMlp", "opencl")]
    [InlineData("TransformerBlock", "cuda")]
    [InlineData("TransformerBlock", "opencl")]
    public void GpuBackend_RunsWhereThereIsOne_ElseIsOneLineError(string sample, string backend)
    {
        var run = RunSample(sample, "--backend", backend, "--devices", "2", "--tokens", "8");
        if (run.ExitCode == 0) return; // a machine with that GPU: the sample ran and checked its own error
        AssertOneLineError(run, $"--backend {backend} is not available on this machine: ");
        // The way out is named in the sample's own terms (its flag), not the library's enum.
        Assert.Contains("--backend ilgpu-cpu or cpu runs anywhere", run.Error);
        Assert.DoesNotContain("IlgpuBackend", run.Error);
    }

    [Fact]
    public void MpiWithAnotherBackend_IsRefusedBeforeMpiStarts()
    {
        var run = RunSample("MegatronMlp", "--mpi", "--backend", "ilgpu-cpu");
        AssertOneLineError(run, "--backend ilgpu-cpu cannot be combined with --mpi");
    }

    [Fact]
    public void DefaultBackend_IsCpu_AndTheSampleChecksItsResult()
    {
        var run = RunSample("MegatronMlp", "--devices", "2", "--tokens", "16");
        Assert.True(run.ExitCode == 0, run.Describe());
        Assert.Contains("on 2 CPU devices", run.Output);
        Assert.Equal("", run.Error);
    }

    internal static void AssertOneLineError(DotnetResult run, string expectedStart)
    {
        Assert.True(run.ExitCode == 2, "expected exit code 2\n" + run.Describe());
        var lines = run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1, "expected exactly one line on stderr\n" + run.Describe());
        Assert.StartsWith(expectedStart, lines[0]);
    }

    internal static DotnetResult RunSample(string sample, params string[] arguments)
    {
        // …/tests/ShardGen.Ilgpu.Tests/bin/<Configuration>/<framework>/ → …/samples/<sample>/bin/<Configuration>/<framework>/
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = dir.Name, configuration = dir.Parent!.Name;
        string root = dir.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        string dll = Path.Combine(root, "samples", sample, "bin", configuration, framework, sample + ".dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");
        return DotnetProcess.Run(root, [dll, .. arguments], timeoutSeconds: 120);
    }
}
