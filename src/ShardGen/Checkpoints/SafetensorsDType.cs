using System;

namespace ShardGen.Checkpoints;

/// <summary>The element types ShardGen reads from a safetensors file (all converted to float32).</summary>
public enum SafetensorsDType
{
    /// <summary>A dtype ShardGen does not read (integers, F64, FP8…); its bytes are still checked against the shape.</summary>
    Other = 0,
    F32,
    F16,
    BF16,
}

internal static class SafetensorsDTypes
{
    public static SafetensorsDType Parse(string name) => name switch
    {
        "F32" => SafetensorsDType.F32,
        "F16" => SafetensorsDType.F16,
        "BF16" => SafetensorsDType.BF16,
        _ => SafetensorsDType.Other,
    };

    /// <summary>Bytes per element of a dtype name from the safetensors spec, or 0 when the name is not one.</summary>
    public static int Size(string name) => name switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };

    public static int Size(SafetensorsDType type) => type switch
    {
        SafetensorsDType.F32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };
}
