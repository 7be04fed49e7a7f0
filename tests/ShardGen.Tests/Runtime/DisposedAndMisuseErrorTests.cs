using System;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Runtime;

/// <summary>Errors after Dispose and for bad sequence lengths name what the user holds and passed.</summary>
public class DisposedAndMisuseErrorTests
{
    [Fact]
    public void Forward_after_the_model_is_disposed_names_the_model_class()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        var model = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(1));
        model.Dispose();

        var ex = Assert.Throws<ObjectDisposedException>(() => model.Forward(new float[3, 64]));
        Assert.Equal(nameof(Models.Mlp), ex.ObjectName);
        Assert.Contains("This Mlp was disposed", ex.Message);
        Assert.DoesNotContain("ShardedModelCore", ex.Message);
    }

    [Fact]
    public void Forward_after_the_mesh_is_disposed_says_the_mesh_was_disposed()
    {
        var mesh = DeviceMesh.CreateCpu(2);
        using var model = Models.Mlp.Create(mesh, Models.Mlp.Weights.Random(2));
        model.Forward(ReferenceMath.RandomMatrix(new Random(2), 3, 64)); // it ran while the mesh was alive
        mesh.Dispose();

        Assert.True(mesh.IsDisposed);
        var ex = Assert.Throws<ObjectDisposedException>(() => model.Forward(new float[3, 64]));
        Assert.Equal(nameof(Models.Mlp), ex.ObjectName);
        Assert.Contains("mesh", ex.Message);
        Assert.Contains("CpuDeviceMesh of 2 devices", ex.Message);
        Assert.Contains("was disposed", ex.Message);
    }

    [Fact]
    public void Sequence_lengths_that_do_not_add_up_name_the_sequenceLengths_parameter()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Models.MhaBlock.Create(mesh, Models.MhaBlock.Weights.Random(3));
        var x = ReferenceMath.RandomMatrix(new Random(3), 6, 64);

        var sum = Assert.Throws<ArgumentException>(() => model.Forward(x, new[] { 2, 3 }));
        Assert.Equal("sequenceLengths", sum.ParamName);
        Assert.Contains("sequenceLengths add up to 5", sum.Message);

        var empty = Assert.Throws<ArgumentException>(() => model.Forward(x, new[] { 6, 0 }));
        Assert.Equal("sequenceLengths", empty.ParamName);
        Assert.Contains("sequenceLengths[1] is 0", empty.Message);
    }
}
