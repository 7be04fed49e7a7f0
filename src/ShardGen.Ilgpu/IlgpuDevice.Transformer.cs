using System;
using ShardGen.Devices;
using ShardGen.Ilgpu.Kernels;

namespace ShardGen.Ilgpu;

// Transformer-block kernels: normalization (one group per row) and attention (strips in IlgpuDevice.Attention.cs).
public sealed partial class IlgpuDevice
{
    public override void Normalize(MatrixView x, MatrixView y, NormKind kind, MatrixView gamma, MatrixView? beta, float epsilon)
    {
        CheckNormalize(x, y, kind, gamma, beta, epsilon);

        Enqueue(() =>
        {
            var p = new NormParams
            {
                XOffset = x.Offset, Ldx = x.Stride, YOffset = y.Offset, Ldy = y.Stride, Cols = x.Cols,
                GammaOffset = gamma.Offset, BetaOffset = beta?.Offset ?? 0, HasBeta = beta.HasValue ? 1 : 0,
                Kind = kind == NormKind.LayerNorm ? 0 : 1, Epsilon = epsilon,
            };
            KernelSet.Normalize(Stream, p, x.Rows, ViewOf(x), ViewOf(y), ViewOf(gamma), beta is { } bb ? ViewOf(bb) : ViewOf(gamma));
        });
    }

    public override void Attention(MatrixView qkv, MatrixView output, AttentionShape shape)
    {
        CheckAttention(qkv, output, shape);
        // The kernel reads the starts when it runs: a copy, so a caller reusing its array cannot race it.
        shape = shape with { SequenceStarts = (int[])shape.SequenceStarts.Clone() };
        Enqueue(() => RunAttention(qkv, output, shape));
    }
}
