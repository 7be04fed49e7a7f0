using System;
using System.Linq;
using ShardGen.Tests.Models;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.EndToEnd;

/// <summary>
/// Wrong weights, inputs or meshes fail with a message naming the layer and the numbers, before any
/// device state changes: the mesh and existing models stay usable.
/// </summary>
public class BadInputTests
{
    [Fact]
    public void Mesh_size_that_does_not_divide_names_layer_numbers_and_working_counts()
    {
        using var mesh = DeviceMesh.CreateCpu(3);
        var ex = RefusedWithoutTouchingDevices<ShardingException>(mesh, () => Mlp.Create(mesh, Mlp.Weights.Random(1)));
        Assert.Contains("SHARD008", ex.Message);
        Assert.Contains("'Up'", ex.Message);
        Assert.Contains("256", ex.Message);
        Assert.Contains("3 devices", ex.Message);
        Assert.Contains("1, 2, 4, 8, 16, 32, 64", ex.Message);
        AssertMeshStillWorks(mesh: null);
    }

    [Fact]
    public void Summa_on_a_non_square_mesh_is_refused()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        var ex = RefusedWithoutTouchingDevices<ShardingException>(mesh, () => Summa.Create(mesh, Summa.Weights.Random(1)));
        Assert.Contains("SHARD009", ex.Message);
        Assert.Contains("square", ex.Message);
    }

    [Fact]
    public void Model_declared_for_four_devices_refuses_two()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        var ex = RefusedWithoutTouchingDevices<ShardingException>(mesh, () => FixedMlp.Create(mesh, FixedMlp.Weights.Random(1)));
        Assert.Contains("Devices = 4", ex.Message);
        Assert.Contains("2 devices", ex.Message);
    }

    [Fact]
    public void Wrong_weight_shape_names_layer_and_both_shapes_and_suggests_the_layout()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        var good = Mlp.Weights.Random(1);
        var transposed = new LinearWeights(new float[4096 / 16, 64], good.Up!.Bias); // [256, 64] instead of [64, 256]
        var ex = RefusedWithoutTouchingDevices<ShardingException>(mesh, () => Mlp.Create(mesh, new Mlp.Weights { Up = transposed, Down = good.Down }));
        Assert.Contains("'Up'", ex.Message);
        Assert.Contains("[64, 256]", ex.Message);
        Assert.Contains("[256, 64]", ex.Message);
        Assert.Contains("WeightLayout.OutIn", ex.Message);
        AssertMeshStillWorks(mesh);
    }

    [Fact]
    public void Missing_bias_when_the_layer_has_one_is_refused()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        var good = Mlp.Weights.Random(1);
        var ex = RefusedWithoutTouchingDevices<ShardingException>(mesh, () =>
            Mlp.Create(mesh, new Mlp.Weights { Up = good.Up, Down = new LinearWeights(good.Down!.Weight, null) }));
        Assert.Contains("'Down'", ex.Message);
        Assert.Contains("Bias = true", ex.Message);
        Assert.Contains("float[64]", ex.Message);
        AssertMeshStillWorks(mesh);
    }

    [Fact]
    public void Bias_of_the_wrong_length_and_missing_layer_are_both_reported()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        var good = Mlp.Weights.Random(1);
        var ex = RefusedWithoutTouchingDevices<ShardingException>(mesh, () =>
            Mlp.Create(mesh, new Mlp.Weights { Up = new LinearWeights(good.Up!.Weight, new float[255]) }));
        Assert.Contains("length 256", ex.Message);
        Assert.Contains("got 255", ex.Message);
        Assert.Contains("'Down' has no weights", ex.Message);
    }

    [Fact]
    public void Wrong_input_width_names_model_layer_and_numbers_and_the_model_keeps_working()
    {
        int seed = Random.Shared.Next();
        using var mesh = DeviceMesh.CreateCpu(4);
        var (model, weights) = ModelCase.Mlp.Create(mesh, seed);
        using (model)
        {
            var ex = RefusedWithoutTouchingDevices<ArgumentException>(mesh, () => model.Forward(new float[5, 63]));
            Assert.Contains("Mlp.Forward", ex.Message);
            Assert.Contains("[5, 63]", ex.Message);
            Assert.Contains("'Up'", ex.Message);
            Assert.Contains("64", ex.Message);

            var x = ReferenceMath.RandomMatrix(new Random(seed), 5, 64);
            Assert.True(ReferenceMath.RelativeError(model.Forward(x), ModelCase.Mlp.Reference(weights, x)) < 1e-4);
        }
    }

    [Fact]
    public void Zero_tokens_are_refused()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Mlp.Create(mesh, Mlp.Weights.Random(1));
        var ex = Assert.Throws<ArgumentException>(() => model.Forward(new float[0, 64]));
        Assert.Contains("tokens ≥ 1", ex.Message);
    }

    /// <summary>Asserts <paramref name="action"/> throws <typeparamref name="T"/> and leaves every device's memory as it was.</summary>
    private static T RefusedWithoutTouchingDevices<T>(DeviceMesh mesh, Action action) where T : Exception
    {
        var before = mesh.Devices.Select(d => (d.LiveBuffers, d.AllocatedBytes)).ToArray();
        long traffic = mesh.Stats.TotalBytesSent;
        var ex = Assert.Throws<T>(action);
        Assert.Equal(before, mesh.Devices.Select(d => (d.LiveBuffers, d.AllocatedBytes)).ToArray());
        Assert.Equal(traffic, mesh.Stats.TotalBytesSent);
        return ex;
    }

    /// <summary>A valid model can still be created and run on the mesh (or a fresh one when null).</summary>
    private static void AssertMeshStillWorks(DeviceMesh? mesh)
    {
        using var own = mesh is null ? DeviceMesh.CreateCpu(2) : null;
        var m = mesh ?? own!;
        int seed = Random.Shared.Next();
        var (model, weights) = ModelCase.Mlp.Create(m, seed);
        using (model)
        {
            var x = ReferenceMath.RandomMatrix(new Random(seed), 3, 64);
            Assert.True(ReferenceMath.RelativeError(model.Forward(x), ModelCase.Mlp.Reference(weights, x)) < 1e-4);
        }
    }
}
