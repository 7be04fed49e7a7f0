using System;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;
using ShardGen.Kernels;

namespace ShardGen.Ilgpu;

// Training kernels on ILGPU. The elementwise ones (activation, gated and rotary backward, SGD, AdamW, scaling) run on
// the device; the others are not written yet: they check their arguments like the CPU backend (same words), then
// refuse with a clear message instead of computing something wrong (train on the CPU backend meanwhile).
public sealed partial class IlgpuDevice
{
    private void RunOptimizer(OptimizerParams p, MatrixView w, MatrixView g, MatrixView m, MatrixView v) =>
        Enqueue(() => KernelSet.Optimizer(Stream, p, w.Rows, ViewOf(w), ViewOf(g), ViewOf(m), ViewOf(v)));

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
        Enqueue(() =>
        {
            var p = new ElementwiseBackwardParams { Z = Layout(z), Dy = Layout(dy), Dz = Layout(dz), Activation = (int)activation };
            KernelSet.ActivationBackward(Stream, p, z.Rows, ViewOf(z), ViewOf(dy), ViewOf(dz));
        });
    }

    public override void GatedActivationBackward(MatrixView gateUp, MatrixView dOutput, MatrixView dGateUp, Activation activation)
    {
        CheckGatedActivationBackward(gateUp, dOutput, dGateUp, activation);
        Enqueue(() =>
        {
            var p = new ElementwiseBackwardParams { Z = Layout(gateUp), Dy = Layout(dOutput), Dz = Layout(dGateUp), Activation = (int)activation };
            KernelSet.GatedBackward(Stream, p, dOutput.Rows, ViewOf(gateUp), ViewOf(dOutput), ViewOf(dGateUp));
        });
    }

    public override void RotaryBackward(MatrixView dx, int heads, int headDim, int[] positions, float theta)
    {
        CheckRotary(dx, heads, headDim, positions, theta);
        positions = (int[])positions.Clone();
        int last = 0;
        foreach (int p in positions) last = Math.Max(last, p);
        var table = RotaryTable.For(headDim, theta, last + 1);
        Enqueue(() =>
        {
            var angles = RotaryAngles(table);
            var p = new RotaryParams { X = Layout(dx), Heads = heads, HeadDim = headDim, SinOffset = table.Cos.Length };
            KernelSet.RotaryBackward(Stream, p, positions.Length, Indices(positions), angles, ViewOf(dx));
        });
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
        RunOptimizer(new OptimizerParams { W = Layout(w), G = Layout(g), M = Layout(w), V = Layout(w), Kind = 0, LearningRate = learningRate }, w, g, w, w);
    }

    public override void AdamWStep(MatrixView w, MatrixView g, MatrixView m, MatrixView v, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, int step)
    {
        CheckAdamWStep(w, g, m, v, learningRate, beta1, beta2, epsilon, weightDecay, step);
        var s = Optimizers.AdamWScalars.For(learningRate, beta1, beta2, epsilon, weightDecay, step);
        RunOptimizer(new OptimizerParams
        {
            W = Layout(w), G = Layout(g), M = Layout(m), V = Layout(v), Kind = 1, LearningRate = s.StepSize, Decay = s.Decay,
            Beta1 = s.Beta1, OneMinusBeta1 = s.OneMinusBeta1, Beta2 = s.Beta2, OneMinusBeta2 = s.OneMinusBeta2,
            Correction2Sqrt = s.Correction2Sqrt, Epsilon = s.Epsilon,
        }, w, g, m, v);
    }

    public override void SumOfSquares(MatrixView g, MatrixView result)
    {
        CheckSumOfSquares(g, result);
        throw NotYet(nameof(SumOfSquares));
    }

    public override void Scale(MatrixView g, float factor)
    {
        CheckScale(g, factor);
        RunOptimizer(new OptimizerParams { W = Layout(g), G = Layout(g), M = Layout(g), V = Layout(g), Kind = 2, LearningRate = factor }, g, g, g, g);
    }
}
