using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

// The training kernels' commands: like the forward's, plain fields copied into the ring (no closure per call).
internal partial struct DeviceCommand
{
    /// <summary>qkv in A, dOutput in B, dQkv in C, the forward's plan in Target.</summary>
    public static DeviceCommand AttentionBackward(MatrixView qkv, MatrixView dOutput, MatrixView dQkv, AttentionPlan plan) =>
        new() { Kind = CommandKind.AttentionBackward, A = qkv, B = dOutput, C = dQkv, Target = plan };

    /// <summary>x in A, dy in B, dx in C, γ in Bias, dγ in D, dβ in E.</summary>
    public static DeviceCommand NormalizeBackward(MatrixView x, MatrixView dy, NormKind kind, MatrixView gamma, float epsilon,
        MatrixView dx, MatrixView dGamma, MatrixView? dBeta) => new()
    {
        Kind = CommandKind.NormalizeBackward, A = x, B = dy, C = dx, Bias = gamma, D = dGamma, E = dBeta, Norm = kind, Epsilon = epsilon,
    };

    /// <summary>dy in A, dBias in C.</summary>
    public static DeviceCommand BiasGradient(MatrixView dy, MatrixView dBias) => new() { Kind = CommandKind.BiasGradient, A = dy, C = dBias };

    /// <summary>z (or gate|up) in A, dy in B, dz in C.</summary>
    public static DeviceCommand ActivationBackward(CommandKind kind, MatrixView z, MatrixView dy, MatrixView dz, Activation activation) =>
        new() { Kind = kind, A = z, B = dy, C = dz, Activation = activation };

    /// <summary>x in C, the job (positions copy, angle table, heads) in Target.</summary>
    public static DeviceCommand RotaryBackward(MatrixView dx, RotaryJob job) => new() { Kind = CommandKind.RotaryBackward, C = dx, Target = job };

    /// <summary>dOutput in A, dTable in C, the ids (a private copy) in Target, the table's first row in Member.</summary>
    public static DeviceCommand ScatterAddRows(int[] ids, int firstRow, MatrixView dOutput, MatrixView dTable) =>
        new() { Kind = CommandKind.ScatterAddRows, A = dOutput, C = dTable, Target = ids, Member = firstRow };

    /// <summary>logits in A, rowMax in B, targetLogit in C, the targets (a private copy) in Target, the first column in Member.</summary>
    public static DeviceCommand LogitStatistics(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax, MatrixView targetLogit) =>
        new() { Kind = CommandKind.LogitStatistics, A = logits, B = rowMax, C = targetLogit, Target = targets, Member = firstColumn };

    /// <summary>logits in A, rowMax in B, sumExp in C.</summary>
    public static DeviceCommand LogitSumExp(MatrixView logits, MatrixView rowMax, MatrixView sumExp) =>
        new() { Kind = CommandKind.LogitSumExp, A = logits, B = rowMax, C = sumExp };

    /// <summary>logits in A, rowMax in B, sumExp in D, dLogits in C, targets in Target, the first column in Member, scale in Epsilon.</summary>
    public static DeviceCommand CrossEntropyGradient(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax, MatrixView sumExp,
        float scale, MatrixView dLogits) => new()
    {
        Kind = CommandKind.CrossEntropyGradient, A = logits, B = rowMax, D = sumExp, C = dLogits, Target = targets, Member = firstColumn, Epsilon = scale,
    };

    /// <summary>w in C, g in A, the learning rate in Epsilon.</summary>
    public static DeviceCommand SgdStep(MatrixView w, MatrixView g, float learningRate) =>
        new() { Kind = CommandKind.SgdStep, C = w, A = g, Epsilon = learningRate };

    /// <summary>w in C, g in A, m in B, v in D, the step's scalars in Adam.</summary>
    public static DeviceCommand AdamWStep(MatrixView w, MatrixView g, MatrixView m, MatrixView v, in Optimizers.AdamWScalars scalars) =>
        new() { Kind = CommandKind.AdamWStep, C = w, A = g, B = m, D = v, Adam = scalars };

    /// <summary>g in A, the 1×1 result in C.</summary>
    public static DeviceCommand SumOfSquares(MatrixView g, MatrixView result) => new() { Kind = CommandKind.SumOfSquares, A = g, C = result };

    /// <summary>g in C, the factor in Epsilon.</summary>
    public static DeviceCommand Scale(MatrixView g, float factor) => new() { Kind = CommandKind.Scale, C = g, Epsilon = factor };

    /// <summary>x in C.</summary>
    public static DeviceCommand Zero(MatrixView x) => new() { Kind = CommandKind.Zero, C = x };
}
