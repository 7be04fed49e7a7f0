using System;

namespace ShardGen.Devices;

/// <summary>
/// One device of a <see cref="DeviceMesh"/>: it owns its memory and runs its kernels in order, like a
/// CUDA stream. Kernel calls are enqueued and return at once; <see cref="Download"/> and
/// <see cref="Synchronize"/> wait for the queue. Backends (CPU today, ILGPU later) implement this class;
/// generated model code never sees a backend type.
/// </summary>
public abstract partial class Device : IDisposable
{
    protected Device(int rank) => Rank = rank;

    /// <summary>The figures below; buffers keep a reference so a finalizer can release into them.</summary>
    internal DeviceMemoryCounters Counters { get; } = new();

    /// <summary>
    /// Bytes held by live buffers of this device (not yet disposed, nor collected after being dropped): lets callers
    /// check that a refused operation allocated nothing.
    /// </summary>
    public long AllocatedBytes => Counters.LiveElements * sizeof(float);

    /// <summary>Buffers allocated and not yet disposed (or collected after being dropped).</summary>
    public int LiveBuffers => Counters.LiveBuffers;

    /// <summary>
    /// Bytes of activation buffers kept by models' pools between forward passes (not in <see cref="AllocatedBytes"/>):
    /// memory cached for the next pass so a steady-state pass allocates nothing.
    /// </summary>
    public long PooledBytes => Counters.PooledElements * sizeof(float);

    /// <summary>
    /// Buffers this device has allocated since it was made (disposed ones included): a pass whose buffers all come from
    /// pools leaves it unchanged.
    /// </summary>
    public long BuffersAllocated => Counters.Made;

    /// <summary>
    /// The most bytes this device held at once (<see cref="AllocatedBytes"/> + <see cref="PooledBytes"/>) since it was
    /// made or since <see cref="ResetPeakBytes"/>.
    /// </summary>
    public long PeakBytes => Counters.PeakElements * sizeof(float);

    /// <summary>Starts <see cref="PeakBytes"/> again from what the device holds now.</summary>
    public void ResetPeakBytes() => Counters.ResetPeak();

    /// <summary>Position of the device in its mesh, 0-based.</summary>
    public int Rank { get; }

    /// <summary>
    /// False for a stand-in of a device that lives in another process (an MPI rank): its buffers hold nothing and
    /// its kernels do nothing, the owning process runs them. True for every device whose memory is here.
    /// </summary>
    public virtual bool IsLocal => true;

    /// <summary>Human-readable backend and index, e.g. "cpu:3".</summary>
    public abstract string Name { get; }

    /// <summary>Allocates <paramref name="elements"/> float32 elements, zero-filled.</summary>
    public abstract DeviceBuffer Allocate(int elements);

    /// <summary>
    /// Copies a host matrix (row-major, <paramref name="sourceStride"/> floats between rows) into
    /// <paramref name="destination"/>. Blocks until the copy is done.
    /// </summary>
    public abstract void Upload(ReadOnlySpan<float> source, int sourceStride, MatrixView destination);

    /// <summary>
    /// Waits for queued work, then copies <paramref name="source"/> to host memory laid out row-major with
    /// <paramref name="destinationStride"/> floats between rows.
    /// </summary>
    public abstract void Download(MatrixView source, Span<float> destination, int destinationStride);

    /// <summary>
    /// Enqueues <c>C = (accumulate ? C : 0) + op(A)·op(B)</c>, then, per element of the result,
    /// <c>C[r, c] = act(C[r, c] + bias[c])</c> when <paramref name="bias"/> is given (a 1×Cols view)
    /// or when <paramref name="activation"/> is not None. op(M) is M or Mᵀ.
    /// Shapes: op(A) is [C.Rows, k], op(B) is [k, C.Cols].
    /// </summary>
    public abstract void Gemm(MatrixView a, bool transposeA, MatrixView b, bool transposeB, MatrixView c,
        bool accumulate, MatrixView? bias = null, Activation activation = Activation.None);

    /// <summary>Enqueues <c>C[r, c] = act(C[r, c] + bias[c])</c> (bias optional, a 1×Cols view).</summary>
    public abstract void BiasActivation(MatrixView c, MatrixView? bias, Activation activation);

    /// <summary>Enqueues a copy between two views of this device (same shape).</summary>
    public abstract void Copy(MatrixView source, MatrixView destination);

    /// <summary>Enqueues <c>destination += source</c> elementwise (same shape, same device).</summary>
    public abstract void Add(MatrixView source, MatrixView destination);

    /// <summary>
    /// Enqueues a per-row normalization <c>y = norm(x)·γ (+ β)</c>: LayerNorm subtracts the row mean and divides by
    /// √(var + ε); RmsNorm divides by √(mean(x²) + ε). γ and β are 1×Cols views; β is ignored by RmsNorm.
    /// x and y may be the same view.
    /// </summary>
    public abstract void Normalize(MatrixView x, MatrixView y, NormKind kind, MatrixView gamma, MatrixView? beta, float epsilon);

    /// <summary>
    /// Enqueues scaled dot-product attention (scale 1/√HeadDim, softmax over keys, optional causal mask) over the
    /// local heads described by <paramref name="shape"/>: <paramref name="qkv"/> is [tokens, FusedWidth],
    /// <paramref name="output"/> is [tokens, OutputWidth], head h's context in columns [h·HeadDim, (h+1)·HeadDim).
    /// </summary>
    public abstract void Attention(MatrixView qkv, MatrixView output, AttentionShape shape);

    /// <summary>
    /// Enqueues a row lookup (a vocab-parallel embedding shard): <c>output[t, :] = table[ids[t] − firstRow, :]</c> when
    /// that row lies inside <paramref name="table"/>, else zeros (another device holds the row; an all-reduce sums the
    /// shards). <paramref name="output"/> is [ids.Length, table.Cols]. The ids are copied at enqueue, so the caller may
    /// reuse its array at once; a negative id is an error.
    /// </summary>
    public abstract void Gather(int[] ids, int firstRow, MatrixView table, MatrixView output);

    /// <summary>
    /// Enqueues rotary position embedding, in place on columns [0, heads·headDim) of <paramref name="x"/> (pass the
    /// q or the k column range of a fused q|k|v matrix), with the Hugging Face <c>rotate_half</c> convention: per head,
    /// for i &lt; d/2, f = θ^(−2i/d), a = positions[t]·f, (x₁, x₂) = (x[i], x[i + d/2]) become
    /// (x₁·cos a − x₂·sin a, x₂·cos a + x₁·sin a). <paramref name="positions"/> holds one position per row of x; it is
    /// copied at enqueue.
    /// </summary>
    public abstract void Rotary(MatrixView x, int heads, int headDim, int[] positions, float theta);

    /// <summary>
    /// Enqueues a gated activation (SwiGLU with <see cref="Activation.Silu"/>): <paramref name="gateUp"/> is
    /// [T, 2n] = [gate | up], <paramref name="output"/> [T, n] = act(gate) ⊙ up. The views must not overlap.
    /// </summary>
    public abstract void GatedActivation(MatrixView gateUp, MatrixView output, Activation activation);

    /// <summary>
    /// Enqueues causal attention of new tokens against a KV cache. The T = <c>shape.Tokens</c> rows of
    /// <paramref name="qkv"/> (laid out as for <see cref="Attention(MatrixView, MatrixView, AttentionShape)"/>) are
    /// one sequence continuing the <paramref name="cachedTokens"/> tokens already in the caches: their key and value
    /// heads are appended to <paramref name="keyCache"/> and <paramref name="valueCache"/> (each [maxTokens,
    /// KvHeads·HeadDim]) at rows [cachedTokens, cachedTokens + T), then new token t's queries attend over cache rows
    /// [0, cachedTokens + t]. The shape must be causal with one sequence.
    /// </summary>
    public abstract void Attention(MatrixView qkv, MatrixView output, AttentionShape shape,
        MatrixView keyCache, MatrixView valueCache, int cachedTokens);

    /// <summary>Waits until every queued kernel has finished; rethrows the first kernel failure.</summary>
    public abstract void Synchronize();

    public abstract void Dispose();
}
