using System;
using System.Collections.Concurrent;
using ShardGen.Ilgpu;

namespace ShardGen.Ilgpu.Tests;

/// <summary>
/// ILGPU CPU-accelerator meshes shared by the tests of this assembly, one per (size, staged) and created once:
/// ILGPU compiles every kernel once per accelerator, which costs far more than the tiny problems here.
/// Tests that use a shared mesh run one at a time (the collection below), so its traffic figures are their own.
/// </summary>
public static class IlgpuMeshes
{
    private static readonly ConcurrentDictionary<(int, bool), IlgpuDeviceMesh> Meshes = new();

    public static IlgpuDeviceMesh Cpu(int devices, bool staged = false) =>
        Meshes.GetOrAdd((devices, staged), k => IlgpuDeviceMesh.Create(IlgpuBackend.Cpu, k.Item1, 16, stageEverything: k.Item2));
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharedMeshCollection
{
    public const string Name = "ILGPU shared meshes";
}
