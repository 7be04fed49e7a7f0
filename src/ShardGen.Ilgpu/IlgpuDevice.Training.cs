using System;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;
using ShardGen.Kernels;

namespace ShardGen.Ilgpu;

// Training kernels on ILGPU: elementwise ones one thread per element, sums one thread per row or column (in order, no
// atomics), attention backward in three launches (see the kernels' files). Same checks and words as the CPU backend.
public sealed partial class IlgpuDevice
{
    private void RunOptimizer(OptimizerParams p, MatrixView w, MatrixView g, MatrixView m, MatrixView v) =>
        Enqueue(() => KernelSet.Optimizer(Stream, p, w.Rows, ViewOf(w), ViewOf(g), ViewOf(m), ViewOf(v)));

    public override void NormalizeBackward(MatrixView x, MatrixView dy, NormKind kind, MatrixView gamma, float epsilon,
        MatrixView dx, MatrixView dGamma, MatrixView? dBeta)
    {
        CheckNormalizeBackward(x, dy, kind, gamma, epsilon, dx, dGamma, dBeta);
        Enqueue(() =>
        {
            var p = new NormBackwardParams
            {
                X = Layout(x), Dy = Layout(dy), Dx = Layout(dx), Gamma = Layout(gamma), DGamma = Layout(dGamma), DBeta = dBeta is { } b ? Layout(b) : Layout(dGamma),
                Rows = x.Rows, Layer = kind == NormKind.LayerNorm ? 1 : 0, HasBeta = dBeta.HasValue ? 1 : 0, Epsilon = epsilon,
            };
            KernelSet.NormalizeBackward(Stream, p, ViewOf(x), ViewOf(dy), ViewOf(gamma), Scratch(2L * Math.Max(1, x.Rows)), ViewOf(dx),
                ViewOf(dGamma), dBeta is { } bb ? ViewOf(bb) : ViewOf(dGamma));
        });
    }

    public override void BiasGradient(MatrixView dy, MatrixView dBias)
    {
        CheckBiasGradient(dy, dBias);
        Enqueue(() => KernelSet.BiasGradient(Stream, new ReductionParams { A = Layout(dy), B = Layout(dBias), Rows = dy.Rows }, ViewOf(dy), ViewOf(dBias)));
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
        // Each token's sequence [start, end), for the kernels to read.
        var bounds = new int[2 * shape.Tokens];
        for (int s = 0; s + 1 < shape.SequenceStarts.Length; s++)
            for (int t = shape.SequenceStarts[s]; t < shape.SequenceStarts[s + 1]; t++)
            {
                bounds[2 * t] = shape.SequenceStarts[s];
                bounds[2 * t + 1] = shape.SequenceStarts[s + 1];
            }
        Enqueue(() =>
        {
            var p = new AttentionBackwardParams
            {
                Qkv = Layout(qkv), DOut = Layout(dOutput), DQkv = Layout(dQkv), Heads = shape.QueryHeads, KvHeads = shape.KvHeads,
                HeadDim = shape.HeadDim, Group = shape.QueryHeads / shape.KvHeads, Causal = shape.Causal ? 1 : 0, Window = shape.Window, Scale = 1f / MathF.Sqrt(shape.HeadDim),
            };
            KernelSet.AttentionBackward(Stream, p, shape.Tokens, Indices(bounds), ViewOf(qkv), ViewOf(dOutput),
                Scratch(3L * shape.Tokens * shape.QueryHeads), ViewOf(dQkv));
        });
    }

    public override void ScatterAddRows(int[] ids, int firstRow, MatrixView dOutput, MatrixView dTable)
    {
        CheckScatterAddRows(ids, firstRow, dOutput, dTable);
        ids = (int[])ids.Clone();
        Enqueue(() => KernelSet.ScatterAdd(Stream, new ReductionParams { A = Layout(dOutput), B = Layout(dTable), Rows = ids.Length, First = firstRow, Count = dTable.Rows },
            Indices(ids), ViewOf(dOutput), ViewOf(dTable)));
    }

    public override void LogitStatistics(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax, MatrixView targetLogit)
    {
        CheckLogitStatistics(logits, targets, firstColumn, rowMax, targetLogit);
        targets = (int[])targets.Clone();
        Enqueue(() => KernelSet.LogitStatistics(Stream, new ReductionParams { A = Layout(logits), B = Layout(targetLogit), M = Layout(rowMax), Rows = logits.Rows, First = firstColumn, Count = 1 },
            Indices(targets), ViewOf(logits), ViewOf(rowMax), ViewOf(targetLogit)));
    }

    public override void LogitSumExp(MatrixView logits, MatrixView rowMax, MatrixView sumExp)
    {
        CheckLogitSumExp(logits, rowMax, sumExp);
        Enqueue(() => KernelSet.LogitSumExp(Stream, new ReductionParams { A = Layout(logits), B = Layout(sumExp), M = Layout(rowMax), Rows = logits.Rows, Count = rowMax.Cols },
            ViewOf(logits), ViewOf(rowMax), ViewOf(sumExp)));
    }

    public override void CrossEntropyGradient(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax,
        MatrixView sumExp, float scale, MatrixView dLogits)
    {
        CheckCrossEntropyGradient(logits, targets, firstColumn, rowMax, sumExp, scale, dLogits);
        targets = (int[])targets.Clone();
        Enqueue(() => KernelSet.CrossEntropyGradient(Stream, new ReductionParams
            {
                A = Layout(logits), B = Layout(sumExp), C = Layout(dLogits), M = Layout(rowMax), Rows = logits.Rows, First = firstColumn,
                Count = rowMax.Cols, Scale = scale,
            }, Indices(targets), ViewOf(logits), ViewOf(rowMax), ViewOf(sumExp), ViewOf(dLogits)));
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
        Enqueue(() => KernelSet.SumOfSquares(Stream, new ReductionParams { A = Layout(g), B = Layout(result), Rows = g.Rows }, ViewOf(g), ViewOf(result)));
    }

    public override void Zero(MatrixView x)
    {
        CheckZero(x);
        Enqueue(() => KernelSet.Zero(Stream, ViewOf(x), Layout(x), x.Rows));
    }

    public override void Scale(MatrixView g, float factor)
    {
        CheckScale(g, factor);
        RunOptimizer(new OptimizerParams { W = Layout(g), G = Layout(g), M = Layout(g), V = Layout(g), Kind = 2, LearningRate = factor }, g, g, g, g);
    }
}
