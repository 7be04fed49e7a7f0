using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using ShardGen.Ilgpu;
using ShardGen.Tests.Models;
using ShardGen.Tests.Reference;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// ILGPU models and meshes dropped without Dispose give back device memory (freed on the worker that owns the
/// accelerator), worker threads and the accelerators' own threads once collected.
/// </summary>
[Collection(SharedMeshCollection.Name)]
public class DroppedWithoutDisposeTests
{
    [Fact]
    public void Dropped_models_free_their_device_memory_on_a_live_mesh()
    {
        var mesh = IlgpuMeshes.Cpu(2);
        var x = ReferenceMath.RandomMatrix(new Random(1), 5, 64);
        mesh.Synchronize();
        var baseline = Figures(mesh);

        CreateAndDropModels(mesh, 20, x);
        Assert.True(mesh.IlgpuDevices.All(d => d.HeldBuffers > 20), $"Expected held buffers before collection, got {string.Join(", ", Figures(mesh))}.");

        Collect(() =>
        {
            mesh.Synchronize(); // the frees the finalizers queued run on the workers
            return Figures(mesh).SequenceEqual(baseline);
        });
        Assert.Equal(baseline, Figures(mesh));
    }

    [Fact]
    public void Dropped_meshes_end_their_worker_and_accelerator_threads()
    {
        int before = Process.GetCurrentProcess().Threads.Count;
        var workers = CreateAndDropMeshes(3, devices: 2);
        Collect(() => workers.All(t => !t.IsAlive) && Process.GetCurrentProcess().Threads.Count <= before + 4);
        Assert.All(workers, t => Assert.False(t.IsAlive, $"{t.Name} still runs after its mesh was collected."));
        // Each CPU accelerator also runs threads of its own; they end with the accelerator.
        Assert.InRange(Process.GetCurrentProcess().Threads.Count, 0, before + 4);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CreateAndDropModels(IlgpuDeviceMesh mesh, int count, float[,] x)
    {
        for (int i = 0; i < count; i++)
        {
            Mlp.Create(mesh, Mlp.Weights.Random(i)).Forward(x);
            MhaBlock.Create(mesh, MhaBlock.Weights.Random(i)).Forward(x, [2, 3]);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Thread[] CreateAndDropMeshes(int count, int devices)
    {
        var threads = new List<Thread>();
        for (int i = 0; i < count; i++)
        {
            var mesh = IlgpuDeviceMesh.Create(IlgpuBackend.Cpu, devices);
            var buffer = mesh.Devices[0].Allocate(16); // dropped too
            threads.AddRange(mesh.IlgpuDevices.Select(d => d.WorkerThread));
        }
        return threads.ToArray();
    }

    private static void Collect(Func<bool> done)
    {
        for (int i = 0; i < 50 && !done(); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            Thread.Sleep(20);
        }
    }

    private static (long Allocated, int Buffers, long Pooled, int Held)[] Figures(IlgpuDeviceMesh mesh) =>
        mesh.IlgpuDevices.Select(d => (d.AllocatedBytes, d.LiveBuffers, d.PooledBytes, d.HeldBuffers)).ToArray();
}
