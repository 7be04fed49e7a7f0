using System;
using System.Linq;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.EndToEnd;

/// <summary>Weights take 1/P of the model per device; activations live only during a forward pass.</summary>
public class DeviceMemoryTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Each_device_holds_its_share_of_the_weights_and_a_forward_leaves_nothing_behind(int p)
    {
        using var mesh = DeviceMesh.CreateCpu(p);
        var (model, _) = ModelCase.Mlp.Create(mesh, 5);
        using (model)
        {
            // Up: [64, 256/P] + bias [256/P]; Down: [256/P, 64] + its whole bias [64] (added after the reduction).
            long expected = (64L * 256 / p + 256 / p + 256L / p * 64 + 64) * sizeof(float);
            Assert.Equal(expected, model.Plan.WeightBytesPerDevice);
            Assert.All(mesh.Devices, d => Assert.Equal(expected, d.AllocatedBytes));

            model.Forward(ReferenceMath.RandomMatrix(new Random(p), 9, 64));
            Assert.All(mesh.Devices, d => Assert.Equal(expected, d.AllocatedBytes));
        }
        Assert.All(mesh.Devices, d => Assert.Equal(0, d.LiveBuffers));
    }

    [Fact]
    public void Summa_layer_weights_are_split_into_q_by_q_blocks()
    {
        using var mesh = DeviceMesh.CreateCpu(9);
        var (model, _) = ModelCase.Summa.Create(mesh, 6);
        using (model)
        {
            var layer = model.Plan.Linear(0);
            Assert.Equal((16, 24), layer.WeightShardShape); // [48/3, 72/3]
            Assert.All(mesh.Devices, d => Assert.Equal((16L * 24 + 24) * sizeof(float), d.AllocatedBytes));
        }
    }
}
