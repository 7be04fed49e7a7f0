using System;
using ShardGen.Devices;

namespace ShardGen.Ilgpu;

// Training kernels on ILGPU: not written yet. Each call checks its arguments like the CPU backend (same words), then
// refuses with a clear message instead of computing something wrong; train on the CPU backend meanwhile.
public sealed partial class IlgpuDevice
{
    private NotSupportedException NotYet(string kernel) =>
        new($"{kernel} on {Name}: the training kernels are not on the ILGPU backend yet; train with the CPU backend (--backend cpu).");

    public override void NormalizeBackward(MatrixView x, MatrixView dy, NormKind kind, MatrixView gamma, float epsilon,
        MatrixView dx, MatrixView dGamma, MatrixView? dBeta)
    {
        CheckNormalizeBackward(x, dy, kind, gamma, epsilon, dx, dGamma, dBeta);
        throw NotYet(nameof(NormalizeBackward));
    }

    public override void BiasGradient(MatrixView dy, MatrixView dBias)
    {
        CheckBiasGradient(dy, dBias);
        throw NotYet(nameof(BiasGradient));
    }

    public override void ActivationBackward(MatrixView z, MatrixView dy, MatrixView dz, Activation activation)
    {
        CheckActivationBackward(z, dy, dz, activation);
        throw NotYet(nameof(ActivationBackward));
    }

    public override void GatedActivationBackward(MatrixView gateUp, MatrixView dOutput, MatrixView dGateUp, Activation activation)
    {
        CheckGatedActivationBackward(gateUp, dOutput, dGateUp, activation);
        throw NotYet(nameof(GatedActivationBackward));
    }

    public override void RotaryBackward(MatrixView dx, int heads, int headDim, int[] positions, float theta)
    {
        CheckRotary(dx, heads, headDim, positions, theta);
        throw NotYet(nameof(RotaryBackward));
    }

    public override void AttentionBackward(MatrixView qkv, MatrixView dOutput, MatrixView dQkv, AttentionShape shape)
    {
        CheckAttentionBackward(qkv, dOutput, dQkv, shape);
        throw NotYet(nameof(AttentionBackward));
    }

    public override void ScatterAddRows(int[] ids, int firstRow, MatrixView dOutput, MatrixView dTable)
    {
        CheckScatterAddRows(ids, firstRow, dOutput, dTable);
        throw NotYet(nameof(ScatterAddRows));
    }

    public override void LogitStatistics(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax, MatrixView targetLogit)
    {
        CheckLogitStatistics(logits, targets, firstColumn, rowMax, targetLogit);
        throw NotYet(nameof(LogitStatistics));
    }

    public override void LogitSumExp(MatrixView logits, MatrixView rowMax, MatrixView sumExp)
    {
        CheckLogitSumExp(logits, rowMax, sumExp);
        throw NotYet(nameof(LogitSumExp));
    }

    public override void CrossEntropyGradient(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax,
        MatrixView sumExp, float scale, MatrixView dLogits)
    {
        CheckCrossEntropyGradient(logits, targets, firstColumn, rowMax, sumExp, scale, dLogits);
        throw NotYet(nameof(CrossEntropyGradient));
    }

    public override void SgdStep(MatrixView w, MatrixView g, float learningRate)
    {
        CheckSgdStep(w, g, learningRate);
        throw NotYet(nameof(SgdStep));
    }

    public override void AdamWStep(MatrixView w, MatrixView g, MatrixView m, MatrixView v, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, int step)
    {
        CheckAdamWStep(w, g, m, v, learningRate, beta1, beta2, epsilon, weightDecay, step);
        throw NotYet(nameof(AdamWStep));
    }

    public override void SumOfSquares(MatrixView g, MatrixView result)
    {
        CheckSumOfSquares(g, result);
        throw NotYet(nameof(SumOfSquares));
    }

    public override void Scale(MatrixView g, float factor)
    {
        CheckScale(g, factor);
        throw NotYet(nameof(Scale));
    }
}
