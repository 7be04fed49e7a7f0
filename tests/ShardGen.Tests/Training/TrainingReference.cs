using System;
using ShardGen.Devices;
using ShardGen.Tests.Reference;

namespace ShardGen.Tests.Training;

/// <summary>
/// Double-precision references of the training kernels: central finite differences of a double forward, and the
/// analytic backward written from the textbook formulas (matrices per head, not the kernels' row loops).
/// </summary>
internal static class TrainingReference
{
    /// <summary>
    /// ∂(Σ dy ⊙ f(x))/∂x by central differences, step h·max(1, |xᵢ|). In double on values near 1 the error is
    /// ~h² plus 1e-16/h: about 1e-10 at h = 1e-5.
    /// </summary>
    public static double[] FiniteDifferences(Func<double[], double[]> forward, double[] x, double[] dy, double h = 1e-5)
    {
        var grad = new double[x.Length];
        var probe = (double[])x.Clone();
        for (int i = 0; i < x.Length; i++)
        {
            double step = h * Math.Max(1, Math.Abs(x[i]));
            probe[i] = x[i] + step;
            double up = Dot(dy, forward(probe));
            probe[i] = x[i] - step;
            double down = Dot(dy, forward(probe));
            probe[i] = x[i];
            grad[i] = (up - down) / (2 * step);
        }
        return grad;
    }

    public static double Dot(double[] a, double[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>LayerNorm/RmsNorm forward in double with β optional (row-major [rows, cols]).</summary>
    public static double[] Norm(double[] x, int rows, int cols, NormKind kind, double[] gamma, double[]? beta, double eps) =>
        Backend.Reference.Normalize(x, rows, cols, kind, gamma, kind == NormKind.LayerNorm ? beta : null, eps);

    /// <summary>Analytic norm backward: dx, dγ = Σ dy·x̂, dβ = Σ dy, from the Jacobian of x̂ written as a full matrix per row.</summary>
    public static (double[] Dx, double[] DGamma, double[] DBeta) NormBackward(double[] x, double[] dy, int rows, int cols,
        NormKind kind, double[] gamma, double eps)
    {
        var dx = new double[rows * cols];
        var dGamma = new double[cols];
        var dBeta = new double[cols];
        bool layer = kind == NormKind.LayerNorm;
        for (int r = 0; r < rows; r++)
        {
            double mean = 0;
            if (layer) { for (int c = 0; c < cols; c++) mean += x[r * cols + c]; mean /= cols; }
            double v = 0;
            for (int c = 0; c < cols; c++) v += Math.Pow(x[r * cols + c] - mean, 2);
            v /= cols;
            double s = Math.Sqrt(v + eps);
            // J[i, j] = ∂x̂ᵢ/∂xⱼ = (δᵢⱼ − [layer]/n)/s − (xᵢ − μ)(xⱼ − μ)/(n s³).
            for (int j = 0; j < cols; j++)
            {
                double sum = 0;
                for (int i = 0; i < cols; i++)
                {
                    double jac = ((i == j ? 1 : 0) - (layer ? 1.0 / cols : 0)) / s
                        - (x[r * cols + i] - mean) * (x[r * cols + j] - mean) / (cols * s * s * s);
                    sum += dy[r * cols + i] * gamma[i] * jac;
                }
                dx[r * cols + j] = sum;
            }
            for (int c = 0; c < cols; c++)
            {
                dGamma[c] += dy[r * cols + c] * (x[r * cols + c] - mean) / s;
                dBeta[c] += dy[r * cols + c];
            }
        }
        return (dx, dGamma, dBeta);
    }

    /// <summary>act′(z) from the closed forms (PyTorch's: Relu′(0) = 0).</summary>
    public static double Derivative(double z, Activation act)
    {
        double Sig(double v) => 1 / (1 + Math.Exp(-v));
        switch (act)
        {
            case Activation.None: return 1;
            case Activation.Relu: return z > 0 ? 1 : 0;
            case Activation.Gelu: return 0.5 * (1 + ReferenceMath.Erf(z / Math.Sqrt(2))) + z * Math.Exp(-z * z / 2) / Math.Sqrt(2 * Math.PI);
            case Activation.GeluTanh:
            {
                double k = Math.Sqrt(2 / Math.PI), u = k * (z + 0.044715 * z * z * z), sech2 = 1 / Math.Pow(Math.Cosh(u), 2);
                return 0.5 * (1 + Math.Tanh(u)) + 0.5 * z * sech2 * k * (1 + 3 * 0.044715 * z * z);
            }
            case Activation.Silu: return Sig(z) + z * Sig(z) * (1 - Sig(z));
            case Activation.Tanh: return 1 / Math.Pow(Math.Cosh(z), 2);
            case Activation.Sigmoid: return Sig(z) * (1 - Sig(z));
            default: throw new ArgumentOutOfRangeException(nameof(act));
        }
    }

    /// <summary>act(gate) ⊙ up over [rows, 2n] → [rows, n].</summary>
    public static double[] Gated(double[] gateUp, int rows, int n, Activation act)
    {
        var y = new double[rows * n];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
                y[r * n + j] = ReferenceMath.Apply(act, gateUp[r * 2 * n + j]) * gateUp[r * 2 * n + n + j];
        return y;
    }

    /// <summary>
    /// Analytic attention backward, per head with explicit matrices: P = softmax(s·Q·Kᵀ + mask), dV = Pᵀ·dO,
    /// dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = s·dS·K, dK = s·dSᵀ·Q.
    /// </summary>
    public static double[] AttentionBackward(double[] qkv, double[] dOut, AttentionShape shape)
    {
        int d = shape.HeadDim, h = shape.QueryHeads, kvh = shape.KvHeads, group = h / kvh, width = shape.FusedWidth, ow = shape.OutputWidth;
        var dq = new double[shape.Tokens * width];
        double scale = 1 / Math.Sqrt(d);
        for (int s = 0; s + 1 < shape.SequenceStarts.Length; s++)
        {
            int start = shape.SequenceStarts[s], n = shape.SequenceStarts[s + 1] - start;
            for (int head = 0; head < h; head++)
            {
                int kv = head / group, qc = head * d, kc = h * d + kv * d, vc = (h + kvh) * d + kv * d;
                double Q(int i, int c) => qkv[(start + i) * width + qc + c];
                double K(int i, int c) => qkv[(start + i) * width + kc + c];
                double V(int i, int c) => qkv[(start + i) * width + vc + c];
                double DO(int i, int c) => dOut[(start + i) * ow + head * d + c];
                var p = new double[n, n];
                for (int i = 0; i < n; i++)
                {
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < n; j++)
                    {
                        if (shape.Causal && j > i || shape.Window > 0 && j <= i - shape.Window) { p[i, j] = double.NegativeInfinity; continue; }
                        double dot = 0;
                        for (int c = 0; c < d; c++) dot += Q(i, c) * K(j, c);
                        p[i, j] = dot * scale;
                        max = Math.Max(max, p[i, j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) sum += p[i, j] = Math.Exp(p[i, j] - max);
                    for (int j = 0; j < n; j++) p[i, j] /= sum;
                }
                var dS = new double[n, n];
                for (int i = 0; i < n; i++)
                {
                    var dP = new double[n];
                    double row = 0;
                    for (int j = 0; j < n; j++)
                    {
                        for (int c = 0; c < d; c++) dP[j] += DO(i, c) * V(j, c);
                        row += dP[j] * p[i, j];
                    }
                    for (int j = 0; j < n; j++) dS[i, j] = p[i, j] * (dP[j] - row);
                }
                for (int i = 0; i < n; i++)
                for (int c = 0; c < d; c++)
                {
                    double gq = 0, gk = 0, gv = 0;
                    for (int j = 0; j < n; j++)
                    {
                        gq += dS[i, j] * K(j, c);
                        gk += dS[j, i] * Q(j, c);
                        gv += p[j, i] * DO(j, c);
                    }
                    dq[(start + i) * width + qc + c] = scale * gq;
                    dq[(start + i) * width + kc + c] += scale * gk;
                    dq[(start + i) * width + vc + c] += gv;
                }
            }
        }
        return dq;
    }

    /// <summary>Mean cross-entropy of full logits [rows, vocab] and its gradient, in double.</summary>
    public static (double Loss, double[] Gradient) CrossEntropy(double[] logits, int rows, int vocab, int[] targets)
    {
        var grad = new double[rows * vocab];
        double loss = 0;
        for (int t = 0; t < rows; t++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int c = 0; c < vocab; c++) max = Math.Max(max, logits[t * vocab + c]);
            for (int c = 0; c < vocab; c++) sum += Math.Exp(logits[t * vocab + c] - max);
            loss += Math.Log(sum) + max - logits[t * vocab + targets[t]];
            for (int c = 0; c < vocab; c++)
                grad[t * vocab + c] = (Math.Exp(logits[t * vocab + c] - max) / sum - (c == targets[t] ? 1 : 0)) / rows;
        }
        return (loss / rows, grad);
    }
}
