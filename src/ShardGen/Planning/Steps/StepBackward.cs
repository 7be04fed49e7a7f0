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
    /// <summary>
    /// The reverse movement: a transition between non-replicated placements moves each element to one place (a
    /// permutation), so its adjoint moves each back (blocks ↔ column shards).
    /// </summary>
    Reverse,
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

/// <summary>How a generated ForwardBackward calls a step's backward (the backward's <see cref="StepCall"/>).</summary>
internal enum BackwardCall
{
    /// <summary>Not generated: no backward method (the host transfers; a float model's Backward writes the gradient's upload and download itself).</summary>
    None,
    /// <summary><c>var g = pass.CrossEntropy(logits);</c>: the loss takes the download's place.</summary>
    Loss,
    /// <summary>No call: the gradient passes unchanged (an all-reduce's backward).</summary>
    Identity,
    /// <summary>
    /// <c>var g = pass.M(dY);</c>: the conjugate collective, a forward method (<see cref="StepBackward.ConjugateOf"/>), or a
    /// backward method where no forward step moves that way (its bytes are the step's <c>BackwardTotalBytes</c>).
    /// </summary>
    Conjugate,
    /// <summary><c>var dX = pass.M(dY, x, layer);</c>: the input's gradient, a new tensor.</summary>
    Gradient,
    /// <summary><c>pass.M(dY, x, dX, layer);</c>: adds the input's gradient into the residual stream's.</summary>
    AddsToInputGradient,
    /// <summary><c>pass.M(dY, layer);</c>: parameter gradients only (a residual's bias, an embedding's rows).</summary>
    Parameters,
}

/// <summary>
/// A step's backward: the operation on the gradient, which maps the output placement's gradient back to the input's,
/// the method a generated ForwardBackward calls for it (on <see cref="IBackwardStepMethods"/>, or for a collective the
/// forward method of its conjugate) and its words.
/// </summary>
internal sealed class StepBackward
{
    public StepBackward(BackwardOp op, string text, string? method = null, BackwardCall call = BackwardCall.None)
    {
        Op = op;
        Text = text;
        Method = method;
        Call = method is null && call != BackwardCall.Identity ? BackwardCall.None : call;
    }

    public BackwardOp Op { get; }

    /// <summary>The backward in words: "identity (Megatron's f)".</summary>
    public string Text { get; }

    /// <summary>The method the generated ForwardBackward calls, or null (identity, or not generated).</summary>
    public string? Method { get; }

    /// <summary>How the generated ForwardBackward calls <see cref="Method"/>.</summary>
    public BackwardCall Call { get; }

    /// <summary>
    /// The forward collective whose method <see cref="Method"/> is (a collective's conjugate), named by its kind's class
    /// and placements; null for the steps whose backward is a local method or the identity.
    /// </summary>
    public (System.Type Kind, Placement Input, Placement Output)? ConjugateOf { get; init; }

    /// <summary>The catalog type of <see cref="ConjugateOf"/>, for its bytes and calls (looked up on use: the catalog holds both).</summary>
    public StepType? Conjugate => ConjugateOf is { } c ? StepCatalog.Find(c.Kind, c.Input, c.Output) : null;

    /// <summary>
    /// True for a column-parallel launch reading a replicated input: each device's dX is a partial sum, all-reduced
    /// (Megatron's f: identity forward, all-reduce backward) unless the input came from an all-gather, whose conjugate
    /// reduce-scatter takes the partial sums as they are.
    /// </summary>
    public bool GivesPartialSums { get; init; }

    /// <summary>True when the backward reads the per-device partial sums of its output's gradient (an all-gather's conjugate).</summary>
    public bool TakesPartialSums { get; init; }

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
