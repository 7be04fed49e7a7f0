using System;
using System.Threading.Tasks;

namespace MegatronMlp;

/// <summary>A plain double-precision MLP on one core per row block: the yardstick for the sharded result.</summary>
internal static class Reference
{
    public static double[,] Mlp(float[,] x, ShardGen.LinearWeights up, ShardGen.LinearWeights down)
    {
        var h = Linear(x, up, gelu: true);
        return Linear(h, down, gelu: false);
    }

    private static double[,] Linear(Array input, ShardGen.LinearWeights layer, bool gelu)
    {
        int t = input.GetLength(0), n = input.GetLength(1), m = layer.Weight.GetLength(1);
        var y = new double[t, m];
        Parallel.For(0, t, r =>
        {
            var row = new double[m];
            for (int k = 0; k < n; k++)
            {
                double a = input is float[,] f ? f[r, k] : ((double[,])input)[r, k];
                for (int c = 0; c < m; c++) row[c] += a * layer.Weight[k, c];
            }
            for (int c = 0; c < m; c++)
            {
                double v = row[c] + (layer.Bias?[c] ?? 0);
                y[r, c] = gelu ? 0.5 * v * (1 + Erf(v / Math.Sqrt(2))) : v;
            }
        });
        return y;
    }

    // Maclaurin series; GELU inputs here stay well inside |x| < 3, where it is exact to double rounding.
    private static double Erf(double x)
    {
        if (Math.Abs(x) > 5) return Math.Sign(x);
        double term = x, sum = x;
        for (int n = 1; n < 200 && Math.Abs(term) > 1e-17; n++)
        {
            term *= -x * x / n;
            sum += term / (2 * n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }
}
