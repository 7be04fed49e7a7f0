using System;
using ShardGen.Collectives;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

internal enum CommandKind : byte
{
    Gemm,
    BiasActivation,
    Copy,
    Add,
    Normalize,
    Attention,
    CachedAttention,
    Gather,
    Rotary,
    GatedActivation,
    Collective,
    Free,
    Action,
    // Training (DeviceCommand.Training.cs, CpuWorker.Training.cs).
    AttentionBackward,
    NormalizeBackward,
    BiasGradient,
    ActivationBackward,
    GatedActivationBackward,
    RotaryBackward,
    ScatterAddRows,
    LogitStatistics,
    LogitSumExp,
    CrossEntropyGradient,
    SgdStep,
    AdamWStep,
    SumOfSquares,
    Scale,
    Zero,
}

/// <summary>
/// One queued piece of work of a <see cref="CpuDevice"/>: the kernel and its arguments as plain fields, so
/// enqueuing copies a struct into the ring instead of allocating a closure. Views are resolved to pointers
/// only when the command runs. Which fields mean what depends on <see cref="Kind"/> (see the factories).
/// </summary>
internal partial struct DeviceCommand
{
    public CommandKind Kind;
    public MatrixView A, B, C;
    public MatrixView? Bias;
    public bool TransposeA, TransposeB, Accumulate;
    public Activation Activation;
    public NormKind Norm;
    public float Epsilon;
    public int Member;
    /// <summary>The attention plan, collective op, buffer to free or arbitrary action.</summary>
    public object? Target;
    /// <summary>Training's kernels with five or six operands: a norm's dγ and dβ, AdamW's v (and its step's scalars).</summary>
    public MatrixView D;
    public MatrixView? E;
    public Optimizers.AdamWScalars Adam;

    public static DeviceCommand Gemm(MatrixView a, bool transposeA, MatrixView b, bool transposeB, MatrixView c,
        bool accumulate, MatrixView? bias, Activation activation) => new()
    {
        Kind = CommandKind.Gemm, A = a, TransposeA = transposeA, B = b, TransposeB = transposeB, C = c,
        Accumulate = accumulate, Bias = bias, Activation = activation,
    };

    public static DeviceCommand BiasActivation(MatrixView c, MatrixView? bias, Activation activation) =>
        new() { Kind = CommandKind.BiasActivation, C = c, Bias = bias, Activation = activation };

    /// <summary>Copy or Add: source A, destination C.</summary>
    public static DeviceCommand Elementwise(CommandKind kind, MatrixView source, MatrixView destination) =>
        new() { Kind = kind, A = source, C = destination };

    /// <summary>x in A, y in C, γ in B, β in Bias.</summary>
    public static DeviceCommand Normalize(MatrixView x, MatrixView y, NormKind kind, MatrixView gamma, MatrixView? beta, float epsilon) =>
        new() { Kind = CommandKind.Normalize, A = x, C = y, B = gamma, Bias = beta, Norm = kind, Epsilon = epsilon };

    public static DeviceCommand Attention(MatrixView qkv, MatrixView output, AttentionPlan plan) =>
        new() { Kind = CommandKind.Attention, A = qkv, C = output, Target = plan };

    /// <summary>qkv in A, output in C, key cache in B, value cache in Bias, cached tokens in Member.</summary>
    public static DeviceCommand CachedAttention(MatrixView qkv, MatrixView output, AttentionPlan plan, MatrixView keyCache, MatrixView valueCache, int cachedTokens) =>
        new() { Kind = CommandKind.CachedAttention, A = qkv, C = output, Target = plan, B = keyCache, Bias = valueCache, Member = cachedTokens };

    /// <summary>Table in A, output in C, the ids (a private copy) in Target, the table's first row in Member.</summary>
    public static DeviceCommand Gather(int[] ids, int firstRow, MatrixView table, MatrixView output) =>
        new() { Kind = CommandKind.Gather, A = table, C = output, Target = ids, Member = firstRow };

    /// <summary>x in C, the job (positions copy, angle table, heads) in Target.</summary>
    public static DeviceCommand Rotary(MatrixView x, RotaryJob job) => new() { Kind = CommandKind.Rotary, C = x, Target = job };

    public static DeviceCommand GatedActivation(MatrixView gateUp, MatrixView output, Activation activation) =>
        new() { Kind = CommandKind.GatedActivation, A = gateUp, C = output, Activation = activation };

    public static DeviceCommand Collective(ScheduledCollective<CpuDevice> op, int member) =>
        new() { Kind = CommandKind.Collective, Target = op, Member = member };

    public static DeviceCommand Free(NativeAllocation allocation) => new() { Kind = CommandKind.Free, Target = allocation };

    public static DeviceCommand Action(Action work) => new() { Kind = CommandKind.Action, Target = work };
}
