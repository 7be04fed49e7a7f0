using System;
using System.Linq;

namespace ShardGen.Checkpoints;

/// <summary>One tensor's entry in a safetensors header: its dtype, shape and where its bytes lie in the file.</summary>
public sealed record SafetensorsTensor(string Name, string DTypeName, long[] Shape, long FileOffset, long ByteLength)
{
    public SafetensorsDType DType { get; } = SafetensorsDTypes.Parse(DTypeName);

    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The tensor as a matrix: [rows, cols] for 2D, [1, n] for 1D (and a scalar); null for 3D and up.</summary>
    public (int Rows, int Cols)? Matrix => Shape.Length switch
    {
        0 => (1, 1),
        1 when Shape[0] <= int.MaxValue => (1, (int)Shape[0]),
        2 when Shape[0] <= int.MaxValue && Shape[1] <= int.MaxValue => ((int)Shape[0], (int)Shape[1]),
        _ => null,
    };

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    public override string ToString() => $"{Name} {DTypeName} {ShapeText}";
}
