namespace ShardGen.Devices;

// The kernels training needs: the backward of every forward kernel that is not a GEMM (dX = dY·Wᵀ and dW = Xᵀ·dY
// are GEMMs with transposes), the pieces of a vocab-parallel cross-entropy, and the optimizers' elementwise steps.
// Gradients of parameters (dGamma, dBeta, dBias, dTable) ACCUMULATE, so token shards and micro-batches add up; the
// gradients of activations (dx, dz, dGateUp, dQkv, dLogits) are overwritten.
// Per-token vectors (row maxima, sums of exponentials, target logits) are T×1 views: one row per row of the logits,
// any stride, so a column of a wider matrix (e.g. one slot per device for an all-gather) can be passed as well.
public abstract partial class Device
{
    /// <summary>
    /// Enqueues the backward of <see cref="Normalize"/> from its input <paramref name="x"/> (statistics recomputed):
    /// <c>dx</c> (overwritten; may be <paramref name="dy"/> itself), <c>dGamma += Σ_rows dy ⊙ x̂</c> and, for
    /// LayerNorm when given, <c>dBeta += Σ_rows dy</c>. γ, dGamma and dBeta are 1×Cols.
    /// </summary>
    public abstract void NormalizeBackward(MatrixView x, MatrixView dy, NormKind kind, MatrixView gamma, float epsilon,
        MatrixView dx, MatrixView dGamma, MatrixView? dBeta);

    /// <summary>Enqueues <c>dBias[c] += Σ_r dy[r, c]</c> (dBias 1×Cols).</summary>
    public abstract void BiasGradient(MatrixView dy, MatrixView dBias);

    /// <summary>
    /// Enqueues <c>dz = dy ⊙ act′(z)</c> from the pre-activation <paramref name="z"/> (dz may be dy itself).
    /// Relu′(0) = 0 and the GELUs' derivatives are PyTorch's.
    /// </summary>
    public abstract void ActivationBackward(MatrixView z, MatrixView dy, MatrixView dz, Activation activation);

    /// <summary>
    /// Enqueues the backward of <see cref="GatedActivation"/> (out = act(gate) ⊙ up) from its input
    /// <paramref name="gateUp"/> [T, 2n]: <paramref name="dGateUp"/> [T, 2n] = [dOut ⊙ up ⊙ act′(gate) | dOut ⊙ act(gate)].
    /// </summary>
    public abstract void GatedActivationBackward(MatrixView gateUp, MatrixView dOutput, MatrixView dGateUp, Activation activation);

    /// <summary>
    /// Enqueues the backward of <see cref="Rotary"/>, in place on the gradient <paramref name="dx"/>: the rotation is
    /// orthogonal, so its transpose turns each pair by −angle. Same arguments and tables as the forward.
    /// </summary>
    public abstract void RotaryBackward(MatrixView dx, int heads, int headDim, int[] positions, float theta);

    /// <summary>
    /// Enqueues the backward of <see cref="Attention(MatrixView, MatrixView, AttentionShape)"/>: from the forward's input
    /// <paramref name="qkv"/> (softmax recomputed, no stored probabilities) and the output's gradient
    /// <paramref name="dOutput"/> [tokens, OutputWidth], fills <paramref name="dQkv"/> [tokens, FusedWidth]: dQ per query
    /// head, dK and dV per key/value head summed over the query heads of its group.
    /// </summary>
    public abstract void AttentionBackward(MatrixView qkv, MatrixView dOutput, MatrixView dQkv, AttentionShape shape);

    /// <summary>
    /// Enqueues the backward of <see cref="Gather"/>: <c>dTable[ids[t] − firstRow] += dOutput[t]</c> for the ids inside
    /// the shard's rows (repeated ids accumulate; others belong to another device). Ids are copied at enqueue.
    /// </summary>
    public abstract void ScatterAddRows(int[] ids, int firstRow, MatrixView dOutput, MatrixView dTable);

    /// <summary>
    /// First pass of a vocab-parallel cross-entropy over a logit shard [T, Vr] whose first column is vocab id
    /// <paramref name="firstColumn"/>: <c>rowMax[t]</c> = the shard's row maximum and <c>targetLogit[t]</c> = the
    /// target's logit where the target lies in the shard, else 0 (T×1 each). All-reduce the maxima (max, or all-gather
    /// them side by side) and the target logits (sum) before <see cref="LogitSumExp"/>. Targets are copied at enqueue.
    /// </summary>
    public abstract void LogitStatistics(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax, MatrixView targetLogit);

    /// <summary>
    /// Second pass: <c>sumExp[t] = Σ_c exp(logits[t, c] − m[t])</c> over the shard (T×1, summed in double), where m[t] is
    /// the maximum over the columns of <paramref name="rowMax"/> [T, k] (k = 1: an all-reduced max; k = P: the shards'
    /// maxima side by side). All-reduce (sum) the result; the loss of row t is <c>log(sumExp) + m − targetLogit</c>.
    /// </summary>
    public abstract void LogitSumExp(MatrixView logits, MatrixView rowMax, MatrixView sumExp);

    /// <summary>
    /// Enqueues <c>dLogits = scale·(softmax − onehot(target))</c> on the shard, softmax = exp(l − m)/sumExp with the
    /// global m (max over <paramref name="rowMax"/>'s columns, as in <see cref="LogitSumExp"/>) and global sum.
    /// For a mean over N targets, scale = 1/N. dLogits may be logits itself.
    /// </summary>
    public abstract void CrossEntropyGradient(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax,
        MatrixView sumExp, float scale, MatrixView dLogits);

    /// <summary>Enqueues <c>w ← w − lr·g</c> elementwise.</summary>
    public abstract void SgdStep(MatrixView w, MatrixView g, float learningRate);

    /// <summary>
    /// Enqueues one step of <c>torch.optim.AdamW</c> (no amsgrad), elementwise, in its order: w ← w·(1 − lr·wd);
    /// m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; w ← w − lr/(1 − β₁ᵗ) · m/(√v/√(1 − β₂ᵗ) + ε), t =
    /// <paramref name="step"/> (from 1). m and v start at zero.
    /// </summary>
    public abstract void AdamWStep(MatrixView w, MatrixView g, MatrixView m, MatrixView v, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, int step);

    /// <summary>
    /// Enqueues <c>result += Σ g²</c> (result 1×1) for global-norm clipping: the view's sum is formed in double and
    /// rounded once, so adding a few hundred tensors loses only a few float roundings.
    /// </summary>
    public abstract void SumOfSquares(MatrixView g, MatrixView result);

    /// <summary>Enqueues <c>g ← factor·g</c> elementwise.</summary>
    public abstract void Scale(MatrixView g, float factor);

    /// <summary>
    /// Enqueues <c>x ← 0</c> elementwise (not a scale by 0: a stale NaN would survive it). Accumulating kernels write
    /// into pooled buffers that hold the last pass's values; this clears them on the device, in queue order.
    /// </summary>
    public abstract void Zero(MatrixView x);
}
