using System;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

// Training kernels: backward of the forward kernels, vocab-parallel cross-entropy pieces, optimizer steps. Checked at
// enqueue like the others and queued as ring commands (DeviceCommand.Training.cs); views become pointers only when
// the work runs on the worker (CpuWorker.Training.cs). Id and position arrays are copied, as the forward's are.
public sealed partial class CpuDevice
{
    public override void NormalizeBackward(MatrixView x, MatrixView dy, NormKind kind, MatrixView gamma, float epsilon,
        MatrixView dx, MatrixView dGamma, MatrixView? dBeta)
    {
        CheckNormalizeBackward(x, dy, kind, gamma, epsilon, dx, dGamma, dBeta);
        Enqueue(DeviceCommand.NormalizeBackward(x, dy, kind, gamma, epsilon, dx, dGamma, dBeta));
    }

    public override void BiasGradient(MatrixView dy, MatrixView dBias)
    {
        CheckBiasGradient(dy, dBias);
        Enqueue(DeviceCommand.BiasGradient(dy, dBias));
    }

    public override void ActivationBackward(MatrixView z, MatrixView dy, MatrixView dz, Activation activation)
    {
        CheckActivationBackward(z, dy, dz, activation);
        Enqueue(DeviceCommand.ActivationBackward(CommandKind.ActivationBackward, z, dy, dz, activation));
    }

    public override void GatedActivationBackward(MatrixView gateUp, MatrixView dOutput, MatrixView dGateUp, Activation activation)
    {
        CheckGatedActivationBackward(gateUp, dOutput, dGateUp, activation);
        Enqueue(DeviceCommand.ActivationBackward(CommandKind.GatedActivationBackward, gateUp, dOutput, dGateUp, activation));
    }

    public override void RotaryBackward(MatrixView dx, int heads, int headDim, int[] positions, float theta)
    {
        CheckRotary(dx, heads, headDim, positions, theta);
        int last = 0;
        foreach (int p in positions) last = Math.Max(last, p);
        var table = RotaryTable.For(headDim, theta, last + 1);
        Enqueue(DeviceCommand.RotaryBackward(dx, new RotaryJob((int[])positions.Clone(), heads, table)));
    }

    public override void AttentionBackward(MatrixView qkv, MatrixView dOutput, MatrixView dQkv, AttentionShape shape)
    {
        CheckAttentionBackward(qkv, dOutput, dQkv, shape);
        // The forward's plan (a snapshot of the starts, shared by every pass of this shape).
        Enqueue(DeviceCommand.AttentionBackward(qkv, dOutput, dQkv, PlanAttention(shape)));
    }

    public override void ScatterAddRows(int[] ids, int firstRow, MatrixView dOutput, MatrixView dTable)
    {
        CheckScatterAddRows(ids, firstRow, dOutput, dTable);
        Enqueue(DeviceCommand.ScatterAddRows((int[])ids.Clone(), firstRow, dOutput, dTable));
    }

    public override void LogitStatistics(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax, MatrixView targetLogit)
    {
        CheckLogitStatistics(logits, targets, firstColumn, rowMax, targetLogit);
        Enqueue(DeviceCommand.LogitStatistics(logits, (int[])targets.Clone(), firstColumn, rowMax, targetLogit));
    }

    public override void LogitSumExp(MatrixView logits, MatrixView rowMax, MatrixView sumExp)
    {
        CheckLogitSumExp(logits, rowMax, sumExp);
        Enqueue(DeviceCommand.LogitSumExp(logits, rowMax, sumExp));
    }

    public override void CrossEntropyGradient(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax,
        MatrixView sumExp, float scale, MatrixView dLogits)
    {
        CheckCrossEntropyGradient(logits, targets, firstColumn, rowMax, sumExp, scale, dLogits);
        Enqueue(DeviceCommand.CrossEntropyGradient(logits, (int[])targets.Clone(), firstColumn, rowMax, sumExp, scale, dLogits));
    }

    public override void SgdStep(MatrixView w, MatrixView g, float learningRate)
    {
        CheckSgdStep(w, g, learningRate);
        Enqueue(DeviceCommand.SgdStep(w, g, learningRate));
    }

    public override void AdamWStep(MatrixView w, MatrixView g, MatrixView m, MatrixView v, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, int step)
    {
        CheckAdamWStep(w, g, m, v, learningRate, beta1, beta2, epsilon, weightDecay, step);
        Enqueue(DeviceCommand.AdamWStep(w, g, m, v, Optimizers.AdamWScalars.For(learningRate, beta1, beta2, epsilon, weightDecay, step)));
    }

    public override void SumOfSquares(MatrixView g, MatrixView result)
    {
        CheckSumOfSquares(g, result);
        Enqueue(DeviceCommand.SumOfSquares(g, result));
    }

    public override void Scale(MatrixView g, float factor)
    {
        CheckScale(g, factor);
        Enqueue(DeviceCommand.Scale(g, factor));
    }

    public override void Zero(MatrixView x)
    {
        CheckZero(x);
        Enqueue(DeviceCommand.Zero(x));
    }
}
