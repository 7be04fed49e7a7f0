namespace ShardGen;

/// <summary>How a full weight matrix is stored when it is handed to ShardGen.</summary>
#if SHARDGEN_RUNTIME
public
#endif
enum WeightLayout
{
    /// <summary>[in, out]: Y = X·W (ShardGen's and Megatron's convention).</summary>
    InOut = 0,
    /// <summary>[out, in]: PyTorch's nn.Linear storage, Y = X·Wᵀ. Loaded without a transpose.</summary>
    OutIn = 1,
}
