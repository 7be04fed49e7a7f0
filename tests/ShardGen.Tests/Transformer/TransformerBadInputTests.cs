using System;
using System.Linq;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Transformer;

/// <summary>Bad sequence lengths, widths, head counts and weights: clear errors, nothing changed on the devices.</summary>
public class TransformerBadInputTests
{
    [Fact]
    public void Sequence_lengths_that_do_not_add_up_are_refused_and_the_model_keeps_working()
    {
        int seed = Random.Shared.Next();
        using var mesh = DeviceMesh.CreateCpu(2);
        var weights = Models.MhaBlock.Weights.Random(seed);
        using var model = Models.MhaBlock.Create(mesh, weights);
        var x = ReferenceMath.RandomMatrix(new Random(seed), 6, 64);

        var ex = Assert.Throws<ArgumentException>(() => model.Forward(x, new[] { 2, 3 }));
        Assert.Contains("add up to 5", ex.Message);
        Assert.Contains("6 tokens", ex.Message);
        Assert.Throws<ArgumentException>(() => model.Forward(x, new[] { 6, 0 }));

        var y = model.Forward(x, new[] { 2, 4 });
        Assert.True(ReferenceMath.RelativeError(y, TransformerCase.Mha.Reference(new LayerWeights[] { weights.Block! }, x, new[] { 2, 4 })) < 1e-4);
    }

    [Fact]
    public void Hidden_size_mismatch_names_the_block()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Models.MhaBlock.Create(mesh, Models.MhaBlock.Weights.Random(1));
        var ex = Assert.Throws<ArgumentException>(() => model.Forward(new float[4, 48]));
        Assert.Contains("'Block'", ex.Message);
        Assert.Contains("64", ex.Message);
    }

    [Fact]
    public void Heads_that_do_not_divide_over_the_devices_list_the_counts_that_work()
    {
        using var mesh = DeviceMesh.CreateCpu(3);
        var before = mesh.Devices.Select(d => d.AllocatedBytes).ToArray();
        var ex = Assert.Throws<ShardingException>(() => Models.MhaBlock.Create(mesh, Models.MhaBlock.Weights.Random(1)));
        Assert.Contains("SHARD018", ex.Message);
        Assert.Contains("8 attention heads over 3 devices", ex.Message);
        Assert.Contains("1, 2, 4, 8", ex.Message);
        Assert.Equal(before, mesh.Devices.Select(d => d.AllocatedBytes).ToArray());
    }

    [Fact]
    public void Wrong_block_weight_names_the_part_and_both_shapes()
    {
        using var mesh = DeviceMesh.CreateCpu(2);
        var good = Models.GqaBlock.Weights.Random(1).Block!;
        // A QKV weight sized for 8 KV heads on a block with 2.
        var bad = new TransformerBlockWeights
        {
            AttentionNormScale = good.AttentionNormScale, Qkv = new LinearWeights(new float[64, 192], null), Out = good.Out,
            MlpNormScale = good.MlpNormScale, Up = good.Up, Down = good.Down,
        };
        var ex = Assert.Throws<ShardingException>(() => Models.GqaBlock.Create(mesh, new Models.GqaBlock.Weights { Block = bad }));
        Assert.Contains("'Block.Qkv'", ex.Message);
        Assert.Contains("[64, 96]", ex.Message);
        Assert.Contains("[64, 192]", ex.Message);
        Assert.All(mesh.Devices, d => Assert.Equal(0, d.LiveBuffers));
    }

    [Fact]
    public void Layer_norm_shift_on_an_rms_norm_block_is_refused()
    {
        using var mesh = DeviceMesh.CreateCpu(1);
        var good = Models.GqaBlock.Weights.Random(1).Block!;
        var bad = new TransformerBlockWeights
        {
            AttentionNormScale = good.AttentionNormScale, AttentionNormShift = new float[64], Qkv = good.Qkv, Out = good.Out,
            MlpNormScale = good.MlpNormScale, Up = good.Up, Down = good.Down,
        };
        var ex = Assert.Throws<ShardingException>(() => Models.GqaBlock.Create(mesh, new Models.GqaBlock.Weights { Block = bad }));
        Assert.Contains("RmsNorm", ex.Message);
    }
}
