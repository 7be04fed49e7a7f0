using System;
using System.Diagnostics;
using System.IO;
using ShardGen.Cpu;
using ShardGen.Tests.Reference;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

/// <summary>
/// The rotary kernel against Hugging Face's float32 LLaMA rotary run by PyTorch (tests/reference/rope_reference.py):
/// far from position 0 a float32 angle differs from the exact one by up to 5e-4, so matching PyTorch to 1e-6 checks
/// that the angles are formed as PyTorch forms them. Skipped with the reason where /usr/bin/python3 or torch is missing.
/// </summary>
public sealed class RotaryTorchTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);

    public void Dispose() => _mesh.Dispose();

    [TorchTheory]
    [InlineData(4, 64, 10000f, "0,1,2,3,4")]
    [InlineData(2, 128, 10000f, "7,1000,4095,8191,3")]
    [InlineData(3, 128, 500000f, "5,6,12345,20000")]
    [InlineData(2, 96, 1000000f, "31,17,65000")]
    public void RotaryMatchesPyTorchFloat32(int heads, int headDim, float theta, string positions)
    {
        int seed = System.Random.Shared.Next(1 << 20);
        var pos = Array.ConvertAll(positions.Split(','), int.Parse);
        string dir = Directory.CreateTempSubdirectory("shardgen-rope-").FullName;
        try
        {
            RunScript(dir, seed.ToString(), pos.Length.ToString(), heads.ToString(), headDim.ToString(), theta.ToString("R"), positions);
            var (_, x) = Npy.Read(Path.Combine(dir, "x.npy"));
            var (_, y) = Npy.Read(Path.Combine(dir, "y.npy"));
            var d = _mesh.Devices[0];
            int cols = heads * headDim;
            var xv = Upload(d, x, pos.Length, cols, stride: cols + 1);
            d.Rotary(xv, heads, headDim, pos, theta);
            AssertClose(Download(xv), y, 1e-6, $"heads {heads} dim {headDim} θ {theta} positions {positions} seed={seed}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void RunScript(params string[] arguments)
    {
        var info = new ProcessStartInfo(TorchReference.Python) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(Path.GetDirectoryName(TorchReference.Script)!, "rope_reference.py"));
        foreach (var a in arguments) info.ArgumentList.Add(a);
        info.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "rope_reference.py timed out");
        Assert.True(process.ExitCode == 0, $"rope_reference.py exited with {process.ExitCode}: {error.Result}");
    }
}
