using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Tests.EndToEnd;
using ShardGen.Tests.Reference;
using ShardGen.Tests.Transformer;

namespace ShardGen.Tests.Runtime;

/// <summary>
/// Pooled activations are not zeroed: a pass that reuses the buffers of earlier passes (other inputs, other
/// shapes) must give exactly what a fresh model gives, so every step must overwrite its outputs whole.
/// </summary>
public class ActivationReuseTests
{
    public static IEnumerable<object[]> LinearModels =>
        ModelCase.OneDimensional.Select(m => new object[] { m, 4 }).Concat(ModelCase.TwoDimensional.Select(m => new object[] { m, 4 }));

    public static IEnumerable<object[]> TransformerModels =>
        TransformerCase.All.SelectMany(m => new[] { 2, 4 }.Select(p => new object[] { m, p }));

    [Theory]
    [MemberData(nameof(LinearModels))]
    public void Linear_models_give_the_same_result_on_reused_activations(ModelCase model, int p)
    {
        using var mesh = DeviceMesh.CreateCpu(p);
        int f = model.Specs[0].InFeatures;
        var a = ReferenceMath.RandomMatrix(new Random(1), 9, f);
        var b = ReferenceMath.RandomMatrix(new Random(2), 5, f);
        var c = ReferenceMath.RandomMatrix(new Random(3), 9, f);
        float[,] fresh;
        using (var once = model.Create(mesh, 7).Model) fresh = once.Forward(c);

        using var reused = model.Create(mesh, 7).Model;
        var first = reused.Forward(a);
        reused.Forward(b);
        Assert.Equal(first, reused.Forward(a));
        Assert.Equal(fresh, reused.Forward(c));
    }

    [Theory]
    [MemberData(nameof(TransformerModels))]
    public void Transformer_models_give_the_same_result_on_reused_activations(TransformerCase model, int p)
    {
        using var mesh = DeviceMesh.CreateCpu(p);
        var a = ReferenceMath.RandomMatrix(new Random(1), 11, model.Hidden);
        var c = ReferenceMath.RandomMatrix(new Random(3), 11, model.Hidden);
        int[] split = { 4, 7 }, other = { 6, 5 };
        float[,] fresh;
        using (var once = model.Create(mesh, 7).Model) fresh = model.Forward(once, c, split);

        using var reused = model.Create(mesh, 7).Model;
        var first = model.Forward(reused, a, null);
        model.Forward(reused, c, other);
        model.Forward(reused, ReferenceMath.RandomMatrix(new Random(4), 6, model.Hidden), null);
        Assert.Equal(first, model.Forward(reused, a, null));
        Assert.Equal(fresh, model.Forward(reused, c, split));
    }
}
