namespace ShardGen.Runtime;

// Marker types: the placement of a ShardedTensor<TPlacement> in a generated Forward. Never instantiated; they exist so
// that a value's placement is part of its C# type (see IForwardSteps).

/// <summary>Every device holds the whole activation.</summary>
public sealed class Replicated { private Replicated() { } }

/// <summary>Device r holds feature columns [r·F/P, (r+1)·F/P) (Megatron's column-parallel output).</summary>
public sealed class ColumnShards { private ColumnShards() { } }

/// <summary>Device r holds token block r (sequence parallelism).</summary>
public sealed class TokenShards { private TokenShards() { } }

/// <summary>Each device holds the fused q|k|v of its own attention heads.</summary>
public sealed class HeadShards { private HeadShards() { } }

/// <summary>Every device holds a partial sum of the whole; the value is their sum.</summary>
public sealed class PartialSums { private PartialSums() { } }

/// <summary>Device (i, j) of the q×q grid holds token block i × feature block j.</summary>
public sealed class Blocks2D { private Blocks2D() { } }
