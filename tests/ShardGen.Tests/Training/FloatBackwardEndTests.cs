using System;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Planning;
using ShardGen.Tests.Reference;
using R = ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Training;

/// <summary>
/// A float model's Backward ends with the download of dX, as a language model's ForwardBackward ends with Loss():
/// under sequence parallelism the replicated parameters' per-device partial gradients must be summed first
/// (SumReplicatedGradients), else they would be dropped with the pass. A hand-written pass that skips the sums is
/// refused with the missing call named, before anything is downloaded or summed; after the sums the download works.
/// </summary>
public sealed class FloatBackwardEndTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Download_BeforeTheReplicatedSums_UnderSequenceParallelism_NamesTheMissingStep(int devices)
    {
        // MqaSequenceParallel: one block on token shards, its output [T, 64] token-sharded like its input.
        using var mesh = DeviceMesh.CreateCpu(devices);
        using var model = Models.MqaSequenceParallel.Create(mesh, Models.MqaSequenceParallel.Weights.Random(31 + devices));
        var rng = new Random(32 + devices);
        var x = ReferenceMath.RandomMatrix(rng, 7, 64);
        var dY = ReferenceMath.RandomMatrix(rng, 7, 64);
        var core = model.Training.Core;
        var block = core.Block(0);
        var twin = core.GradientOf(block);
        using (var pass = core.BeginTraining(x, dY))
        {
            var a0 = pass.UploadTokenShards();
            var a1 = pass.AttentionNorm(a0, block);
            var dStream = pass.UploadGradient(a0);
            // The norm's γ/β gradients are each device's partial from its own tokens until SumReplicatedGradients.
            pass.AttentionNormBackward(a1, a0, dStream, block);

            var error = Assert.Throws<InvalidOperationException>(() => pass.Download(dStream));
            Assert.Contains("Download()", error.Message);
            Assert.Contains("SumReplicatedGradients()", error.Message);
            Assert.Contains("generated Backward", error.Message);
            Assert.All(R.Download(twin.AttentionNorm[0].Scale), v => Assert.Equal(0, v));   // nothing summed or lost yet

            pass.SumReplicatedGradients();
            var dX = pass.Download(dStream);
            Assert.Equal((7, 64), (dX.GetLength(0), dX.GetLength(1)));
        }
        var scales = Enumerable.Range(0, devices).Select(r => R.Download(twin.AttentionNorm[r].Scale)).ToArray();
        Assert.Contains(scales[0], v => v != 0);
        Assert.All(scales, s => Assert.Equal(scales[0], s));   // every device holds the summed γ gradient
    }

    [Fact]
    public void A_training_pass_that_sums_first_downloads_as_before()
    {
        // The generated Backward (SumReplicatedGradients, then the download) still runs, twice in a row.
        using var mesh = DeviceMesh.CreateCpu(2);
        using var model = Models.MqaSequenceParallel.Create(mesh, Models.MqaSequenceParallel.Weights.Random(35));
        var rng = new Random(36);
        var x = ReferenceMath.RandomMatrix(rng, 5, 64);
        var dY = ReferenceMath.RandomMatrix(rng, 5, 64);
        var first = model.Backward(x, dY);
        Assert.Equal(first, model.Backward(x, dY));
    }
}
