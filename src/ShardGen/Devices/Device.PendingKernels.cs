using System;
using ShardGen.Kernels;

namespace ShardGen.Devices;

// TEMPORARY (issue 13, runtime branch): host round-trip versions of the language-model kernels, with the signatures
// the kernels branch adds to Device as abstract methods. Delete this file when that branch is merged.
public abstract partial class Device
{
    public virtual void Gather(int[] ids, int firstRow, MatrixView table, MatrixView output)
    {
        int n = table.Cols;
        var host = new float[output.Rows * n];
        var row = new float[n];
        var all = new float[table.Rows * n];
        Download(table, all, n);
        for (int t = 0; t < ids.Length; t++)
        {
            int r = ids[t] - firstRow;
            if (r >= 0 && r < table.Rows) Array.Copy(all, r * n, host, t * n, n);
        }
        Upload(host, n, output);
    }

    public virtual void Rotary(MatrixView x, int heads, int headDim, int[] positions, float theta)
    {
        int cols = x.Cols;
        var host = new float[x.Rows * cols];
        Download(x, host, cols);
        int half = headDim / 2;
        for (int t = 0; t < x.Rows; t++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < half; i++)
                {
                    double f = Math.Pow(theta, -2.0 * i / headDim), a = positions[t] * f;
                    float cos = (float)Math.Cos(a), sin = (float)Math.Sin(a);
                    int at = t * cols + h * headDim + i;
                    float x1 = host[at], x2 = host[at + half];
                    host[at] = x1 * cos - x2 * sin;
                    host[at + half] = x2 * cos + x1 * sin;
                }
        Upload(host, cols, x);
    }

    public virtual void GatedActivation(MatrixView gateUp, MatrixView output, Activation activation)
    {
        int n = output.Cols, w = gateUp.Cols;
        var host = new float[gateUp.Rows * w];
        Download(gateUp, host, w);
        var y = new float[output.Rows * n];
        for (int t = 0; t < output.Rows; t++)
            for (int j = 0; j < n; j++)
            {
                y[t * n + j] = Activations.Apply(host[t * w + j], activation) * host[t * w + n + j];
            }
        Upload(y, n, output);
    }

    public virtual void Attention(MatrixView qkv, MatrixView output, AttentionShape shape,
        MatrixView keyCache, MatrixView valueCache, int cachedTokens)
    {
        int t = qkv.Rows, dh = shape.HeadDim, hq = shape.QueryHeads, kv = shape.KvHeads, w = qkv.Cols, c = kv * dh;
        var q = new float[t * w];
        Download(qkv, q, w);
        var k = new float[keyCache.Rows * c];
        var v = new float[valueCache.Rows * c];
        Download(keyCache, k, c);
        Download(valueCache, v, c);
        for (int r = 0; r < t; r++)
        {
            Array.Copy(q, r * w + hq * dh, k, (cachedTokens + r) * c, c);
            Array.Copy(q, r * w + (hq + kv) * dh, v, (cachedTokens + r) * c, c);
        }
        Upload(k, c, keyCache);
        Upload(v, c, valueCache);
        var o = new float[t * hq * dh];
        int group = hq / kv;
        for (int r = 0; r < t; r++)
            for (int h = 0; h < hq; h++)
            {
                int last = cachedTokens + r, kh = h / group;
                var p = new double[last + 1];
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j <= last; j++)
                {
                    double dot = 0;
                    for (int e = 0; e < dh; e++) dot += q[r * w + h * dh + e] * k[j * c + kh * dh + e];
                    p[j] = dot / Math.Sqrt(dh);
                    max = Math.Max(max, p[j]);
                }
                for (int j = 0; j <= last; j++) sum += p[j] = Math.Exp(p[j] - max);
                for (int e = 0; e < dh; e++)
                {
                    double acc = 0;
                    for (int j = 0; j <= last; j++) acc += p[j] * v[j * c + kh * dh + e];
                    o[r * hq * dh + h * dh + e] = (float)(acc / sum);
                }
            }
        Upload(o, hq * dh, output);
    }
}
