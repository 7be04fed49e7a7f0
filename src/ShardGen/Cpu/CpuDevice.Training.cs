using System;
using ShardGen.Devices;
using ShardGen.Kernels;
using static ShardGen.Cpu.CpuDeviceBuffer;

namespace ShardGen.Cpu;

// Training kernels: backward of the forward kernels, vocab-parallel cross-entropy pieces, optimizer steps. Checked at
// enqueue like the others; views become pointers only when the work runs on the worker. Queued as small closures (one
// allocation per call, unlike the forward's ring commands): a step calls them a few times per parameter.
public sealed unsafe partial class CpuDevice
{
    public override void NormalizeBackward(MatrixView x, MatrixView dy, NormKind kind, MatrixView gamma, float epsilon,
        MatrixView dx, MatrixView dGamma, MatrixView? dBeta)
    {
        CheckNormalizeBackward(x, dy, kind, gamma, epsilon, dx, dGamma, dBeta);
        Enqueue(() =>
        {
            int n = x.Cols;
            var sums = new double[2 * n];
            fixed (double* dg = sums)
            {
                double* db = dBeta.HasValue ? dg + n : null;
                float* xp = Pointer(x), dyp = Pointer(dy), dxp = Pointer(dx), g = Pointer(gamma);
                for (int r = 0; r < x.Rows; r++)
                    NormalizationBackward.Row(xp + (nint)r * x.Stride, dyp + (nint)r * dy.Stride, dxp + (nint)r * dx.Stride, n, g,
                        epsilon, kind == NormKind.LayerNorm, dg, db);
                AddSums(dg, dGamma);
                if (dBeta is { } b) AddSums(db, b);
            }
        });
    }

    public override void BiasGradient(MatrixView dy, MatrixView dBias)
    {
        CheckBiasGradient(dy, dBias);
        Enqueue(() =>
        {
            var sums = new double[dy.Cols];
            float* p = Pointer(dy);
            for (int r = 0; r < dy.Rows; r++)
            {
                float* row = p + (nint)r * dy.Stride;
                for (int c = 0; c < dy.Cols; c++) sums[c] += row[c];
            }
            fixed (double* s = sums) AddSums(s, dBias);
        });
    }

    /// <summary>Worker: dst[0, c] += (float)sums[c].</summary>
    private static void AddSums(double* sums, MatrixView destination)
    {
        float* d = Pointer(destination);
        for (int c = 0; c < destination.Cols; c++) d[c] = (float)(d[c] + sums[c]);
    }

    public override void ActivationBackward(MatrixView z, MatrixView dy, MatrixView dz, Activation activation)
    {
        CheckActivationBackward(z, dy, dz, activation);
        Enqueue(() =>
        {
            float* zp = Pointer(z), dyp = Pointer(dy), dzp = Pointer(dz);
            for (int r = 0; r < z.Rows; r++)
                Kernels.ActivationBackward.Row(zp + (nint)r * z.Stride, dyp + (nint)r * dy.Stride, dzp + (nint)r * dz.Stride, z.Cols, activation);
        });
    }

    public override void GatedActivationBackward(MatrixView gateUp, MatrixView dOutput, MatrixView dGateUp, Activation activation)
    {
        CheckGatedActivationBackward(gateUp, dOutput, dGateUp, activation);
        Enqueue(() =>
        {
            int n = dOutput.Cols;
            float* g = Pointer(gateUp), d = Pointer(dOutput), dg = Pointer(dGateUp);
            for (int r = 0; r < dOutput.Rows; r++)
            {
                float* row = g + (nint)r * gateUp.Stride, drow = dg + (nint)r * dGateUp.Stride;
                Kernels.ActivationBackward.GatedRow(row, row + n, d + (nint)r * dOutput.Stride, drow, drow + n, n, activation);
            }
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
            float* x = Pointer(dx);
            for (int t = 0; t < positions.Length; t++) Kernels.RotaryBackward.Row(x + (nint)t * dx.Stride, heads, positions[t], table);
        });
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
        ids = (int[])ids.Clone();
        Enqueue(() => EmbeddingBackward.ScatterAdd(ids, firstRow, Pointer(dOutput), dOutput.Stride, Pointer(dTable), dTable.Stride, dTable.Rows, dTable.Cols));
    }

    public override void LogitStatistics(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax, MatrixView targetLogit)
    {
        CheckLogitStatistics(logits, targets, firstColumn, rowMax, targetLogit);
        targets = (int[])targets.Clone();
        Enqueue(() => CrossEntropyBackward.Statistics(Pointer(logits), logits.Stride, logits.Rows, logits.Cols, targets, firstColumn,
            Pointer(rowMax), rowMax.Stride, Pointer(targetLogit), targetLogit.Stride));
    }

    public override void LogitSumExp(MatrixView logits, MatrixView rowMax, MatrixView sumExp)
    {
        CheckLogitSumExp(logits, rowMax, sumExp);
        Enqueue(() => CrossEntropyBackward.SumExp(Pointer(logits), logits.Stride, logits.Rows, logits.Cols,
            Pointer(rowMax), rowMax.Stride, rowMax.Cols, Pointer(sumExp), sumExp.Stride));
    }

    public override void CrossEntropyGradient(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax,
        MatrixView sumExp, float scale, MatrixView dLogits)
    {
        CheckCrossEntropyGradient(logits, targets, firstColumn, rowMax, sumExp, scale, dLogits);
        targets = (int[])targets.Clone();
        Enqueue(() => CrossEntropyBackward.Gradient(Pointer(logits), logits.Stride, logits.Rows, logits.Cols, targets, firstColumn,
            Pointer(rowMax), rowMax.Stride, rowMax.Cols, Pointer(sumExp), sumExp.Stride, scale, Pointer(dLogits), dLogits.Stride));
    }

    public override void SgdStep(MatrixView w, MatrixView g, float learningRate)
    {
        CheckSgdStep(w, g, learningRate);
        Enqueue(() =>
        {
            float* wp = Pointer(w), gp = Pointer(g);
            for (int r = 0; r < w.Rows; r++) Optimizers.SgdRow(wp + (nint)r * w.Stride, gp + (nint)r * g.Stride, w.Cols, learningRate);
        });
    }

    public override void AdamWStep(MatrixView w, MatrixView g, MatrixView m, MatrixView v, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, int step)
    {
        CheckAdamWStep(w, g, m, v, learningRate, beta1, beta2, epsilon, weightDecay, step);
        var s = Optimizers.AdamWScalars.For(learningRate, beta1, beta2, epsilon, weightDecay, step);
        Enqueue(() =>
        {
            float* wp = Pointer(w), gp = Pointer(g), mp = Pointer(m), vp = Pointer(v);
            for (int r = 0; r < w.Rows; r++)
                Optimizers.AdamWRow(wp + (nint)r * w.Stride, gp + (nint)r * g.Stride, mp + (nint)r * m.Stride, vp + (nint)r * v.Stride, w.Cols, s);
        });
    }

    public override void SumOfSquares(MatrixView g, MatrixView result)
    {
        CheckSumOfSquares(g, result);
        Enqueue(() =>
        {
            double sum = 0;
            float* gp = Pointer(g);
            for (int r = 0; r < g.Rows; r++) sum += Optimizers.SumOfSquaresRow(gp + (nint)r * g.Stride, g.Cols);
            float* o = Pointer(result);
            *o = (float)(*o + sum);
        });
    }

    public override void Scale(MatrixView g, float factor)
    {
        CheckScale(g, factor);
        Enqueue(() =>
        {
            float* gp = Pointer(g);
            for (int r = 0; r < g.Rows; r++) Optimizers.ScaleRow(gp + (nint)r * g.Stride, g.Cols, factor);
        });
    }
}
