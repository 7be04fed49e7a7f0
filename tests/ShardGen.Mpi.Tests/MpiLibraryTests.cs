using System;
using ShardGen.Devices;

namespace ShardGen.Mpi.Tests;

/// <summary>Parts of the MPI backend that need no MPI job.</summary>
public sealed class MpiLibraryTests
{
    [Fact]
    public void MissingLibrary_NamesWhatWasTriedAndWhatToInstall()
    {
        var e = Assert.Throws<MpiNotFoundException>(() => MpiLibrary.Load(new[] { "libshardgen-no-such-mpi.so.99", "libalso-missing.so.1" }));
        Assert.Contains("libshardgen-no-such-mpi.so.99", e.Message);
        Assert.Contains("libalso-missing.so.1", e.Message);
        Assert.Contains("apt-get install openmpi-bin libopenmpi-dev", e.Message);
        Assert.Contains(MpiLibrary.LibraryVariable, e.Message);
    }

    [Fact]
    public void LibraryThatIsNotMpi_IsRefused()
    {
        var e = Assert.Throws<MpiNotFoundException>(() => MpiLibrary.Load(new[] { "libc.so.6" }));
        Assert.Contains("not an MPI library", e.Message);
    }

    [MpiFact]
    public void InstalledOpenMpi_LoadsWithItsHandles()
    {
        var mpi = MpiLibrary.Load(MpiLibrary.DefaultCandidates);
        Assert.Equal(MpiFlavor.OpenMpi, mpi.Flavor);
        Assert.NotEqual(0, mpi.CommWorld);
        Assert.NotEqual(0, mpi.Float);
        Assert.NotEqual(0, mpi.Sum);
        Assert.Equal(1, mpi.InPlace);
    }

    [Fact]
    public void Timeout_ComesFromTheEnvironmentVariable_AndBadValuesNameIt()
    {
        var saved = Environment.GetEnvironmentVariable(MpiRuntime.TimeoutVariable);
        try
        {
            Environment.SetEnvironmentVariable(MpiRuntime.TimeoutVariable, null);
            Assert.Equal(TimeSpan.FromSeconds(60), MpiRuntime.Timeout);
            Environment.SetEnvironmentVariable(MpiRuntime.TimeoutVariable, "2.5");
            Assert.Equal(TimeSpan.FromSeconds(2.5), MpiRuntime.Timeout);
            Environment.SetEnvironmentVariable(MpiRuntime.TimeoutVariable, "off");
            Assert.Equal(System.Threading.Timeout.InfiniteTimeSpan, MpiRuntime.Timeout);
            foreach (var bad in new[] { "soon", "0", "-3" })
            {
                Environment.SetEnvironmentVariable(MpiRuntime.TimeoutVariable, bad);
                var e = Assert.Throws<MpiException>(() => MpiRuntime.Timeout);
                Assert.Contains($"{MpiRuntime.TimeoutVariable}='{bad}'", e.Message);
            }
            Assert.Throws<ArgumentOutOfRangeException>(() => MpiRuntime.Timeout = TimeSpan.Zero);
        }
        finally
        {
            Environment.SetEnvironmentVariable(MpiRuntime.TimeoutVariable, saved);
        }
    }

    [Fact]
    public void WeightHashes_SeeOneChangedElementInAnyPartOfALayer()
    {
        var random = new Random(4);
        var weight = new float[8, 12];
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 12; j++) weight[i, j] = (float)random.NextDouble();
        var a = new LinearWeights(weight, new float[] { 0.5f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 });
        var b = new LinearWeights((float[,])a.Weight.Clone(), (float[])a.Bias!.Clone());
        Assert.Equal(WeightHashes.Of(a), WeightHashes.Of(b));
        b.Weight[7, 11] += 1e-6f;
        Assert.NotEqual(WeightHashes.Of(a), WeightHashes.Of(b));
        var c = new LinearWeights((float[,])a.Weight.Clone(), (float[])a.Bias!.Clone());
        c.Bias![0] = -c.Bias[0];
        Assert.NotEqual(WeightHashes.Of(a), WeightHashes.Of(c));
        Assert.NotEqual(WeightHashes.Of(a), WeightHashes.Of(new LinearWeights(a.Weight, null)));
    }

    [Fact]
    public void ContentHash_SeesOneChangedElementAndTheOrder()
    {
        var a = new float[1001];
        for (int i = 0; i < a.Length; i++) a[i] = i * 0.5f;
        var b = (float[])a.Clone();
        b[777] = MathF.BitIncrement(b[777]);
        var c = (float[])a.Clone();
        (c[1], c[2]) = (c[2], c[1]);
        ulong h = MpiDeviceMesh.ContentHash(a);
        Assert.Equal(h, MpiDeviceMesh.ContentHash((float[])a.Clone()));
        Assert.NotEqual(h, MpiDeviceMesh.ContentHash(b));
        Assert.NotEqual(h, MpiDeviceMesh.ContentHash(c));
        Assert.NotEqual(h, MpiDeviceMesh.ContentHash(a.AsSpan(0, 1000)));
    }

    [Fact]
    public void RemoteDevice_HoldsNoMemoryAndRunsNothing()
    {
        using var device = new RemoteDevice(3);
        Assert.False(device.IsLocal);
        using var buffer = device.Allocate(1 << 20);
        Assert.IsType<RemoteBuffer>(buffer);
        var view = buffer.AsMatrix(1024, 1024);
        device.Upload(new float[1024 * 1024], 1024, view);
        device.Gemm(view, false, view, false, view, accumulate: false);
        device.Synchronize();
        var e = Assert.Throws<InvalidOperationException>(() => device.Download(view, new float[1024 * 1024], 1024));
        Assert.Contains("rank 3", e.Message);
    }
}
