using System;
using System.Collections.Generic;
using ShardGen.Planning;

namespace ShardGen.Tests.Reference;

/// <summary>
/// Double-precision backward of a chain of dense layers y = act(x·W + b), in plain loops: the input's gradient and
/// every weight's and bias's gradient (in the weight's declared layout) for a given dLoss/dY. The activations'
/// derivatives are central differences of <see cref="ReferenceMath.Apply"/> in double, so they share no code or formula
/// with the runtime's backward kernels.
/// </summary>
internal static class LinearBackwardReference
{
    public sealed record Result(double[,] InputGradient, double[][,] WeightGradients, double[]?[] BiasGradients);

    public static Result Backward(IReadOnlyList<LayerSpec> specs, LinearWeights[] weights, float[,] x, float[,] outputGradient)
    {
        int t = x.GetLength(0), n = specs.Count;
        var inputs = new double[n][,];
        var pre = new double[n][,];
        var a = ReferenceMath.ToDouble(x);
        for (int i = 0; i < n; i++)
        {
            inputs[i] = a;
            pre[i] = ReferenceMath.Linear(a, weights[i].Weight, weights[i].Bias, specs[i].WeightLayout == WeightLayout.OutIn, Activation.None);
            a = Map(pre[i], v => ReferenceMath.Apply(specs[i].Activation, v));
        }
        var dW = new double[n][,];
        var dB = new double[]?[n];
        var d = ReferenceMath.ToDouble(outputGradient);
        for (int i = n - 1; i >= 0; i--)
        {
            var spec = specs[i];
            bool outIn = spec.WeightLayout == WeightLayout.OutIn;
            var w = weights[i].Weight;
            var z = pre[i];
            var dz = new double[t, spec.OutFeatures];
            for (int r = 0; r < t; r++)
                for (int c = 0; c < spec.OutFeatures; c++) dz[r, c] = d[r, c] * Derivative(spec.Activation, z[r, c]);
            var x_ = inputs[i];
            dW[i] = new double[w.GetLength(0), w.GetLength(1)];
            for (int k = 0; k < spec.InFeatures; k++)
                for (int c = 0; c < spec.OutFeatures; c++)
                {
                    double s = 0;
                    for (int r = 0; r < t; r++) s += x_[r, k] * dz[r, c];
                    if (outIn) dW[i][c, k] = s; else dW[i][k, c] = s;
                }
            if (spec.HasBias)
            {
                dB[i] = new double[spec.OutFeatures];
                for (int r = 0; r < t; r++)
                    for (int c = 0; c < spec.OutFeatures; c++) dB[i]![c] += dz[r, c];
            }
            var dx = new double[t, spec.InFeatures];
            for (int r = 0; r < t; r++)
                for (int k = 0; k < spec.InFeatures; k++)
                {
                    double s = 0;
                    for (int c = 0; c < spec.OutFeatures; c++) s += dz[r, c] * (outIn ? w[c, k] : w[k, c]);
                    dx[r, k] = s;
                }
            d = dx;
        }
        return new Result(d, dW, dB);
    }

    private static double Derivative(Activation act, double v)
    {
        if (act == Activation.None) return 1;
        const double h = 1e-6;
        return (ReferenceMath.Apply(act, v + h) - ReferenceMath.Apply(act, v - h)) / (2 * h);
    }

    private static double[,] Map(double[,] m, Func<double, double> f)
    {
        var y = new double[m.GetLength(0), m.GetLength(1)];
        for (int r = 0; r < m.GetLength(0); r++)
            for (int c = 0; c < m.GetLength(1); c++) y[r, c] = f(m[r, c]);
        return y;
    }

    /// <summary>max |actual − expected| / max |expected| of a vector.</summary>
    public static double RelativeError(float[] actual, double[] expected)
    {
        var a = new float[1, actual.Length];
        var e = new double[1, expected.Length];
        for (int i = 0; i < actual.Length; i++) (a[0, i], e[0, i]) = (actual[i], expected[i]);
        return ReferenceMath.RelativeError(a, e);
    }
}
