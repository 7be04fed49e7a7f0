namespace ShardGen.Planning.Steps;

/// <summary>The operation a step's backward runs on the gradient (Megatron's conjugate pairs).</summary>
internal enum BackwardOp
{
    /// <summary>The gradient passes unchanged (Megatron's f: the conjugate of an all-reduce).</summary>
    Identity,
    /// <summary>All-reduce of the per-device gradients (Megatron's g: the conjugate of an identity).</summary>
    AllReduce,
    /// <summary>Reduce-scatter of the per-device gradients (the conjugate of an all-gather).</summary>
    ReduceScatter,
    /// <summary>All-gather of the gradient's shards (the conjugate of a slice).</summary>
    AllGather,
    /// <summary>Each device keeps its slice of the gradient (the conjugate of a gather into one replicated value).</summary>
    Slice,
    /// <summary>Reduce onto the root (the conjugate of a broadcast).</summary>
    Reduce,
    /// <summary>Broadcast from the root (the conjugate of a reduce).</summary>
    Broadcast,
    /// <summary>The layer's local GEMMs: dX = dY·Wᵀ and dW = Xᵀ·dY (SUMMA: A·Bᵀ and Aᵀ·B on the grid).</summary>
    TransposedProducts,
    /// <summary>A local elementwise or per-token step: its own derivative, no communication.</summary>
    Local,
    /// <summary>Host transfers: the gradient moves the other way.</summary>
    HostTransfer,
}

/// <summary>A step's backward: the operation on the gradient, which maps the output placement's gradient back to the input's.</summary>
internal sealed class StepBackward
{
    public StepBackward(BackwardOp op, string text) { Op = op; Text = text; }

    public BackwardOp Op { get; }

    /// <summary>The backward in words: "identity (Megatron's f)".</summary>
    public string Text { get; }

    public override string ToString() => Text;
}

/// <summary>The collective operations a step issues (the runtime's CollectiveKind, which the generator cannot see).</summary>
internal enum CollectiveOp
{
    AllReduce,
    AllGather,
    ReduceScatter,
    Broadcast,
    Reduce,
}
