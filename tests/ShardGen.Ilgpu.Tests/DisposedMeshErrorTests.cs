using System;
using ShardGen.Ilgpu;
using ShardGen.Tests.Models;

namespace ShardGen.Ilgpu.Tests;

/// <summary>A model whose ILGPU mesh was disposed says so, naming the model, instead of failing inside a device.</summary>
public class DisposedMeshErrorTests
{
    [Fact]
    public void Forward_after_the_ilgpu_mesh_is_disposed_names_the_model_and_the_mesh()
    {
        var mesh = IlgpuDeviceMesh.Create(IlgpuBackend.Cpu, 2);
        var model = Mlp.Create(mesh, Mlp.Weights.Random(1));
        mesh.Dispose();

        Assert.True(mesh.IsDisposed);
        var ex = Assert.Throws<ObjectDisposedException>(() => model.Forward(new float[2, 64]));
        Assert.Equal(nameof(Mlp), ex.ObjectName);
        Assert.Contains("IlgpuDeviceMesh of 2 devices", ex.Message);
        Assert.Contains("was disposed", ex.Message);
        model.Dispose(); // after its mesh: frees nothing twice, throws nothing
        Assert.All(mesh.Devices, d => Assert.Equal(0, d.LiveBuffers));
    }
}
