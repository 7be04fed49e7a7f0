using System;
using ShardGen.Devices;
using ShardGen.Kernels;
using static ShardGen.Cpu.CpuDeviceBuffer;

namespace ShardGen.Cpu;

// Runs the training kernels' commands (arguments checked at enqueue, views made pointers only now, like the others).
internal sealed unsafe partial class CpuWorker
{
    // Double column sums of a norm's dγ|dβ or a bias gradient, grown on demand and kept: a step allocates nothing.
    private double[] _sums = [];

    /// <summary>Runs <paramref name="c"/> when it is a training command; false for any other kind.</summary>
    private bool ExecuteTraining(in DeviceCommand c)
    {
        switch (c.Kind)
        {
            case CommandKind.AttentionBackward:
                AttentionBackward.Run(Pointer(c.A), c.A.Stride, Pointer(c.B), c.B.Stride, Pointer(c.C), c.C.Stride,
                    (AttentionPlan)c.Target!, _workspaces, _team);
                return true;
            case CommandKind.NormalizeBackward:
                RunNormalizeBackward(c);
                return true;
            case CommandKind.BiasGradient:
                RunBiasGradient(c.A, c.C);
                return true;
            case CommandKind.ActivationBackward:
            {
                float* zp = Pointer(c.A), dyp = Pointer(c.B), dzp = Pointer(c.C);
                for (int r = 0; r < c.A.Rows; r++)
                    ActivationBackward.Row(zp + (nint)r * c.A.Stride, dyp + (nint)r * c.B.Stride, dzp + (nint)r * c.C.Stride, c.A.Cols, c.Activation);
                return true;
            }
            case CommandKind.GatedActivationBackward:
            {
                int n = c.B.Cols;
                float* g = Pointer(c.A), d = Pointer(c.B), dg = Pointer(c.C);
                for (int r = 0; r < c.B.Rows; r++)
                {
                    float* row = g + (nint)r * c.A.Stride, drow = dg + (nint)r * c.C.Stride;
                    ActivationBackward.GatedRow(row, row + n, d + (nint)r * c.B.Stride, drow, drow + n, n, c.Activation);
                }
                return true;
            }
            case CommandKind.RotaryBackward:
            {
                var job = (RotaryJob)c.Target!;
                float* x = Pointer(c.C);
                for (int t = 0; t < job.Positions.Length; t++) RotaryBackward.Row(x + (nint)t * c.C.Stride, job.Heads, job.Positions[t], job.Table);
                return true;
            }
            case CommandKind.ScatterAddRows:
                EmbeddingBackward.ScatterAdd((int[])c.Target!, c.Member, Pointer(c.A), c.A.Stride, Pointer(c.C), c.C.Stride, c.C.Rows, c.C.Cols);
                return true;
            case CommandKind.LogitStatistics:
                CrossEntropyBackward.Statistics(Pointer(c.A), c.A.Stride, c.A.Rows, c.A.Cols, (int[])c.Target!, c.Member,
                    Pointer(c.B), c.B.Stride, Pointer(c.C), c.C.Stride);
                return true;
            case CommandKind.LogitSumExp:
                CrossEntropyBackward.SumExp(Pointer(c.A), c.A.Stride, c.A.Rows, c.A.Cols, Pointer(c.B), c.B.Stride, c.B.Cols, Pointer(c.C), c.C.Stride);
                return true;
            case CommandKind.CrossEntropyGradient:
                CrossEntropyBackward.Gradient(Pointer(c.A), c.A.Stride, c.A.Rows, c.A.Cols, (int[])c.Target!, c.Member,
                    Pointer(c.B), c.B.Stride, c.B.Cols, Pointer(c.D), c.D.Stride, c.Epsilon, Pointer(c.C), c.C.Stride);
                return true;
            case CommandKind.SgdStep:
            {
                float* wp = Pointer(c.C), gp = Pointer(c.A);
                for (int r = 0; r < c.C.Rows; r++) Optimizers.SgdRow(wp + (nint)r * c.C.Stride, gp + (nint)r * c.A.Stride, c.C.Cols, c.Epsilon);
                return true;
            }
            case CommandKind.AdamWStep:
            {
                float* wp = Pointer(c.C), gp = Pointer(c.A), mp = Pointer(c.B), vp = Pointer(c.D);
                for (int r = 0; r < c.C.Rows; r++)
                    Optimizers.AdamWRow(wp + (nint)r * c.C.Stride, gp + (nint)r * c.A.Stride, mp + (nint)r * c.B.Stride, vp + (nint)r * c.D.Stride,
                        c.C.Cols, c.Adam);
                return true;
            }
            case CommandKind.SumOfSquares:
            {
                double sum = 0;
                float* gp = Pointer(c.A);
                for (int r = 0; r < c.A.Rows; r++) sum += Optimizers.SumOfSquaresRow(gp + (nint)r * c.A.Stride, c.A.Cols);
                float* o = Pointer(c.C);
                *o = (float)(*o + sum);
                return true;
            }
            case CommandKind.Scale:
            {
                float* gp = Pointer(c.C);
                for (int r = 0; r < c.C.Rows; r++) Optimizers.ScaleRow(gp + (nint)r * c.C.Stride, c.C.Cols, c.Epsilon);
                return true;
            }
            case CommandKind.Zero:
            {
                float* xp = Pointer(c.C);
                for (int r = 0; r < c.C.Rows; r++) new Span<float>(xp + (nint)r * c.C.Stride, c.C.Cols).Clear();
                return true;
            }
            default:
                return false;
        }
    }

    /// <summary>The double sums scratch, zeroed, of at least <paramref name="n"/> elements.</summary>
    private double[] Sums(int n)
    {
        if (_sums.Length < n) _sums = new double[n];
        Array.Clear(_sums, 0, n);
        return _sums;
    }

    private void RunNormalizeBackward(in DeviceCommand c)
    {
        MatrixView x = c.A, dy = c.B, dx = c.C, gamma = c.Bias!.Value;
        int n = x.Cols;
        var sums = Sums(2 * n);
        fixed (double* dg = sums)
        {
            double* db = c.E.HasValue ? dg + n : null;
            float* xp = Pointer(x), dyp = Pointer(dy), dxp = Pointer(dx), g = Pointer(gamma);
            for (int r = 0; r < x.Rows; r++)
                NormalizationBackward.Row(xp + (nint)r * x.Stride, dyp + (nint)r * dy.Stride, dxp + (nint)r * dx.Stride, n, g,
                    c.Epsilon, c.Norm == NormKind.LayerNorm, dg, db);
            AddSums(dg, c.D);
            if (c.E is { } b) AddSums(db, b);
        }
    }

    private void RunBiasGradient(MatrixView dy, MatrixView dBias)
    {
        var sums = Sums(dy.Cols);
        float* p = Pointer(dy);
        fixed (double* s = sums)
        {
            for (int r = 0; r < dy.Rows; r++)
            {
                float* row = p + (nint)r * dy.Stride;
                for (int c = 0; c < dy.Cols; c++) s[c] += row[c];
            }
            AddSums(s, dBias);
        }
    }

    /// <summary>dst[0, c] += (float)sums[c].</summary>
    private static void AddSums(double* sums, MatrixView destination)
    {
        float* d = Pointer(destination);
        for (int c = 0; c < destination.Cols; c++) d[c] = (float)(d[c] + sums[c]);
    }
}
