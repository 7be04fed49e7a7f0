namespace ShardGen.Algorithms;

/// <summary>Which product <see cref="Summa.Multiply"/> computes.</summary>
public enum SummaVariant
{
    /// <summary>C = A·B; A [M,K], B [K,N].</summary>
    AB,
    /// <summary>C = A·Bᵀ; B stored [N,K] (the PyTorch weight layout), never transposed in memory.</summary>
    ABt,
    /// <summary>C = Aᵀ·B; A stored [K,M].</summary>
    AtB,
}
