using System;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.NormalizationTests;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Training;

/// <summary>Bad shapes of the backward kernels throw in the caller, naming the tensor and the shape, before anything is queued.</summary>
public sealed class TrainingValidationTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(2);

    public void Dispose() => _mesh.Dispose();

    [Fact]
    public void BackwardKernelsRefuseBadShapes()
    {
        var d = _mesh.Devices[0];
        var x = Alloc(d, 4, 6);
        var dy = Alloc(d, 4, 6);
        var dx = Alloc(d, 4, 6);
        var gamma = Alloc(d, 1, 6);
        AssertThrows(() => d.NormalizeBackward(x, Alloc(d, 4, 5), NormKind.LayerNorm, gamma, 1e-5f, dx, Alloc(d, 1, 6), null), "dy must be 4×6");
        AssertThrows(() => d.NormalizeBackward(x, dy, NormKind.LayerNorm, gamma, 1e-5f, dx, Alloc(d, 1, 5), null), "dGamma must be 1×6");
        AssertThrows(() => d.NormalizeBackward(x, dy, NormKind.RmsNorm, gamma, 1e-5f, dx, Alloc(d, 1, 6), Alloc(d, 1, 6)), "RmsNorm has no β");
        AssertThrows(() => d.NormalizeBackward(x, dy, NormKind.LayerNorm, gamma, 1e-5f, x, Alloc(d, 1, 6), null), "dx must not overlap x");
        AssertThrows(() => d.BiasGradient(dy, Alloc(d, 6, 1)), "dBias must be 1×6");
        AssertThrows(() => d.ActivationBackward(x, dy, Alloc(d, 4, 7), Activation.Silu), "dz must be 4×6");
        Assert.Throws<ArgumentOutOfRangeException>(() => d.ActivationBackward(x, dy, dx, (Activation)42));
        AssertThrows(() => d.GatedActivationBackward(x, Alloc(d, 4, 6), Alloc(d, 4, 6), Activation.Silu), "dOutput must be 4×3");
        AssertThrows(() => d.GatedActivationBackward(Alloc(d, 4, 5), Alloc(d, 4, 2), Alloc(d, 4, 5), Activation.Silu), "even width");
        AssertThrows(() => d.RotaryBackward(x, 2, 4, [0, 1, 2, 3], 1e4f), "8 columns");
        AssertThrows(() => d.ScatterAddRows([1, 2], 0, Alloc(d, 2, 5), Alloc(d, 4, 6)), "dOutput must be 2×6");
        AssertThrows(() => d.ScatterAddRows([1, -2], 0, Alloc(d, 2, 6), Alloc(d, 4, 6)), "ids[1] is -2");
        AssertThrows(() => d.ScatterAddRows([1, 2], 0, Alloc(_mesh.Devices[1], 2, 6), Alloc(d, 4, 6)), "cpu:1");
        var shape = new AttentionShape(2, 1, 2, true, [0, 4]);
        AssertThrows(() => d.AttentionBackward(Alloc(d, 4, 8), Alloc(d, 4, 4), Alloc(d, 4, 7), shape), "dQkv must be 4×8");
        AssertThrows(() => d.AttentionBackward(Alloc(d, 4, 8), Alloc(d, 4, 5), Alloc(d, 4, 8), shape), "output must be 4×4");
        var qkv = Alloc(d, 4, 8);
        AssertThrows(() => d.AttentionBackward(qkv, Alloc(d, 4, 4), qkv, shape), "must not overlap");
        d.Synchronize();
    }
}
