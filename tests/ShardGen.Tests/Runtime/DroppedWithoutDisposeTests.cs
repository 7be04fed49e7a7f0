using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using ShardGen.Cpu;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Runtime;

/// <summary>Leak tests count process threads: nothing else may start or end threads while they run.</summary>
[CollectionDefinition(nameof(LeakTests), DisableParallelization = true)]
public sealed class LeakTests;

/// <summary>Models and meshes dropped without Dispose give back their device memory and their threads once collected.</summary>
[Collection(nameof(LeakTests))]
public class DroppedWithoutDisposeTests
{
    [Fact]
    public void Dropped_models_free_their_device_memory_on_a_live_mesh()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        var x = ReferenceMath.RandomMatrix(new Random(1), 5, 64);
        var baseline = Figures(mesh);

        CreateAndDropModels(mesh, 100, x);
        // The drop really held memory: without collection every figure is far above the baseline.
        Assert.True(mesh.Devices.All(d => d.LiveBuffers > 100), $"Expected live buffers before collection, got {Describe(mesh)}.");

        CollectUntil(() => Figures(mesh).SequenceEqual(baseline));
        Assert.Equal(baseline, Figures(mesh));

        // The mesh still works after the collection.
        using var model = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(7));
        Assert.Equal(5, model.Forward(x).GetLength(0));
    }

    [Fact]
    public void Dropped_meshes_end_their_worker_threads_and_the_process_thread_count_returns()
    {
        int before = Process.GetCurrentProcess().Threads.Count;
        var threads = CreateAndDropMeshes(20, devices: 2, threadsPerDevice: 2);
        Assert.Equal(20 * 2 * 2, threads.Length); // (a collection during the loop may already have ended some)

        CollectUntil(() => threads.All(t => !t.IsAlive));
        Assert.All(threads, t => Assert.False(t.IsAlive, $"{t.Name} still runs after its mesh was collected."));
        // The runtime's own threads come and go a little; 80 ShardGen threads would not.
        CollectUntil(() => Process.GetCurrentProcess().Threads.Count <= before + 4);
        Assert.InRange(Process.GetCurrentProcess().Threads.Count, 0, before + 4);
    }

    [Fact]
    public void Disposed_meshes_still_end_their_threads_at_once()
    {
        var mesh = CpuDeviceMesh.Create(2, threadsPerDevice: 2);
        var threads = mesh.CpuDevices.SelectMany(d => d.StartedThreads).ToArray();
        mesh.Dispose();
        Assert.All(threads, t => Assert.True(t.Join(TimeSpan.FromSeconds(10)), $"{t.Name} still runs after Dispose."));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CreateAndDropModels(DeviceMesh mesh, int count, float[,] x)
    {
        for (int i = 0; i < count; i++)
        {
            var mlp = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(i));
            mlp.Forward(x); // fills the activation pool too
            var block = Models.MhaBlock.Create(mesh, Models.MhaBlock.Weights.Random(i));
            block.Forward(x, [2, 3]);
        }
    }

    /// <summary>Creates meshes, runs a model on each, drops both; returns the threads they started.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Thread[] CreateAndDropMeshes(int count, int devices, int threadsPerDevice)
    {
        var threads = new List<Thread>();
        var x = ReferenceMath.RandomMatrix(new Random(2), 4, 64);
        for (int i = 0; i < count; i++)
        {
            var mesh = CpuDeviceMesh.Create(devices, threadsPerDevice);
            threads.AddRange(mesh.CpuDevices.SelectMany(d => d.StartedThreads));
            Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(i)).Forward(x);
        }
        return threads.ToArray();
    }

    private static void CollectUntil(Func<bool> done)
    {
        for (int i = 0; i < 50 && !done(); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Thread.Sleep(20); // stopped workers need a moment to exit
        }
    }

    private static (long Allocated, int Buffers, long Pooled)[] Figures(DeviceMesh mesh) =>
        mesh.Devices.Select(d => (d.AllocatedBytes, d.LiveBuffers, d.PooledBytes)).ToArray();

    private static string Describe(DeviceMesh mesh) => string.Join(", ", Figures(mesh).Select(f => f.ToString()));
}
