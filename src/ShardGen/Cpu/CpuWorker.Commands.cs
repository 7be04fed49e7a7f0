using System;
using ShardGen.Collectives;
using ShardGen.Devices;
using ShardGen.Kernels;
using static ShardGen.Cpu.CpuDeviceBuffer;

namespace ShardGen.Cpu;

// Runs one queued command on the worker. Arguments were checked when it was enqueued; views become
// pointers only now, so a buffer freed too early fails here instead of touching freed memory.
internal sealed unsafe partial class CpuWorker
{
    protected override void Execute(in DeviceCommand c)
    {
        switch (c.Kind)
        {
            case CommandKind.Gemm:
            {
                int k = c.TransposeA ? c.A.Rows : c.A.Cols;
                float* bias = c.Bias is { } b ? Pointer(b) : null;
                var args = IsBFloat16(c.B)
                    ? new GemmArgs(Pointer(c.A), c.A.Stride, c.TransposeA, BFloat16Pointer(c.B), c.B.Stride, c.TransposeB,
                        Pointer(c.C), c.C.Stride, c.C.Rows, c.C.Cols, k, c.Accumulate, bias, c.Activation)
                    : new GemmArgs(Pointer(c.A), c.A.Stride, c.TransposeA, Pointer(c.B), c.B.Stride, c.TransposeB,
                        Pointer(c.C), c.C.Stride, c.C.Rows, c.C.Cols, k, c.Accumulate, bias, c.Activation);
                GemmKernel.Run(args, _workspaces, _team);
                break;
            }
            case CommandKind.BiasActivation:
            {
                float* cp = Pointer(c.C);
                float* bp = c.Bias is { } b ? Pointer(b) : null;
                for (int r = 0; r < c.C.Rows; r++) Activations.ApplyRow(cp + (nint)r * c.C.Stride, bp, c.C.Cols, c.Activation);
                break;
            }
            case CommandKind.Copy:
                Elementwise.Copy(Pointer(c.A), c.A.Stride, Pointer(c.C), c.C.Stride, c.A.Rows, c.A.Cols);
                break;
            case CommandKind.Add:
                Elementwise.Add(Pointer(c.A), c.A.Stride, Pointer(c.C), c.C.Stride, c.A.Rows, c.A.Cols);
                break;
            case CommandKind.Normalize:
                RunNormalize(c);
                break;
            case CommandKind.Attention:
                AttentionKernel.Run(Pointer(c.A), c.A.Stride, Pointer(c.C), c.C.Stride, (AttentionPlan)c.Target!, _workspaces, _team);
                break;
            case CommandKind.CachedAttention:
                RunCachedAttention(c);
                break;
            case CommandKind.Gather:
                if (IsBFloat16(c.A)) RowGather.Run((int[])c.Target!, c.Member, BFloat16Pointer(c.A), c.A.Stride, c.A.Rows, Pointer(c.C), c.C.Stride, c.C.Cols);
                else RowGather.Run((int[])c.Target!, c.Member, Pointer(c.A), c.A.Stride, c.A.Rows, Pointer(c.C), c.C.Stride, c.C.Cols);
                break;
            case CommandKind.Rotary:
            {
                var job = (RotaryJob)c.Target!;
                float* x = Pointer(c.C);
                for (int t = 0; t < job.Positions.Length; t++) Rotary.Row(x + (nint)t * c.C.Stride, job.Heads, job.Positions[t], job.Table);
                break;
            }
            case CommandKind.GatedActivation:
            {
                float* g = Pointer(c.A), o = Pointer(c.C);
                int n = c.C.Cols;
                for (int r = 0; r < c.C.Rows; r++)
                {
                    float* row = g + (nint)r * c.A.Stride;
                    Activations.GatedRow(row, row + n, o + (nint)r * c.C.Stride, n, c.Activation);
                }
                break;
            }
            case CommandKind.Collective:
                ((ScheduledCollective<CpuDevice>)c.Target!).Run(c.Member);
                break;
            case CommandKind.Free:
                Memory.Free((NativeAllocation)c.Target!);
                break;
            case CommandKind.Action:
                ((Action)c.Target!)();
                break;
            default:
                if (!ExecuteTraining(c)) throw new InvalidOperationException($"Unknown device command {c.Kind}.");
                break;
        }
    }

    private void RunCachedAttention(in DeviceCommand c)
    {
        var plan = (AttentionPlan)c.Target!;
        MatrixView keys = c.B, values = c.Bias!.Value;
        var problem = new CachedAttentionKernel.Problem(Pointer(c.A), c.A.Stride, Pointer(c.C), c.C.Stride,
            Pointer(keys), keys.Stride, Pointer(values), values.Stride, plan.Shape, c.A.Rows, c.Member);
        if (c.Member > 0)
        {
            CachedAttentionKernel.Run(problem, _workspaces, _team);
            return;
        }
        // Nothing cached: the chunk is plain causal attention over its own rows, on the blocked kernel.
        CachedAttentionKernel.Append(problem);
        AttentionKernel.Run(Pointer(c.A), c.A.Stride, Pointer(c.C), c.C.Stride, plan, _workspaces, _team);
    }

    private static void RunNormalize(in DeviceCommand c)
    {
        MatrixView x = c.A, y = c.C;
        float* xp = Pointer(x), yp = Pointer(y), g = Pointer(c.B);
        float* beta = c.Bias is { } b ? Pointer(b) : null;
        for (int r = 0; r < x.Rows; r++)
        {
            float* xr = xp + (nint)r * x.Stride, yr = yp + (nint)r * y.Stride;
            if (c.Norm == NormKind.LayerNorm) Normalization.LayerNormRow(xr, yr, x.Cols, g, beta, c.Epsilon);
            else Normalization.RmsNormRow(xr, yr, x.Cols, g, c.Epsilon);
        }
    }
}
