using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>How a generated Forward calls a step's ForwardPass method.</summary>
internal enum StepCall
{
    /// <summary><c>var a = pass.M();</c></summary>
    Upload,
    /// <summary><c>var a = pass.M(x);</c>: a placement change of the current tensor.</summary>
    Transition,
    /// <summary><c>var a = pass.M(x, _core.Linear(i));</c></summary>
    LinearLaunch,
    /// <summary><c>pass.M(x, _core.Linear(i));</c>: updates x in place.</summary>
    LinearInPlace,
    /// <summary><c>var a = pass.M(x, _core.Block(i));</c></summary>
    BlockLaunch,
    /// <summary><c>pass.M(x, residual, _core.Block(i));</c>: updates x in place.</summary>
    BlockResidual,
    /// <summary><c>return pass.M(x);</c></summary>
    Download,
    /// <summary><c>var a = pass.M(_core.Embedding(i));</c>: reads the pass's token ids.</summary>
    EmbeddingLookup,
    /// <summary><c>pass.M(x, _core.Embedding(i));</c>: updates x in place.</summary>
    EmbeddingInPlace,
    /// <summary><c>var a = pass.M(x, _core.Norm(i));</c></summary>
    NormLaunch,
}

/// <summary>
/// One kind of plan step, everything about it in one place: the placements it reads and writes, the ForwardPass
/// method it maps to, the collectives it issues and their bytes, its FLOPs, its words (one wording for the
/// generated comments and <c>model.Plan</c>) and its backward. Subclasses live in this folder, one per kind;
/// <see cref="StepCatalog"/> finds them.
/// </summary>
internal abstract class StepType
{
    /// <summary>The kind's name: its class's ("MlpUp", "AllGather").</summary>
    public string Name => GetType().Name;

    /// <summary>The placement the step reads. Download reads any device placement (see <see cref="AcceptsAnyInput"/>).</summary>
    public abstract Placement Input { get; }

    /// <summary>The placement the step leaves its output in.</summary>
    public abstract Placement Output { get; }

    /// <summary>True when the step reads whatever device placement it is given (Download).</summary>
    public virtual bool AcceptsAnyInput => false;

    /// <summary>The ForwardPass method, named with <c>nameof</c> on <see cref="IForwardSteps{TReplicated, TColumnShards, TTokenShards, THeadShards, TPartialSums, TBlocks, TLinear, TBlock, TEmbedding, TNorm, THost}"/>.</summary>
    public abstract string Method { get; }

    /// <summary>How the generated Forward calls <see cref="Method"/>.</summary>
    public abstract StepCall Call { get; }

    /// <summary>A placement change between layers (collective or local slice) that <see cref="Transitions"/> may insert.</summary>
    public bool IsTransition => Call == StepCall.Transition;

    /// <summary>A transition, upload or download: a step that only moves the activation (<see cref="Transitions"/> routes through them).</summary>
    public bool MovesData => IsTransition || Call is StepCall.Upload or StepCall.Download;

    /// <summary>True for steps that update their input tensor instead of producing a new one.</summary>
    public bool IsInPlace => Call is StepCall.LinearInPlace or StepCall.BlockResidual or StepCall.EmbeddingInPlace;

    /// <summary>True for steps that send data between devices between layers (not SUMMA's traffic inside a layer).</summary>
    public virtual bool IsCollective => false;

    /// <summary>True for steps that send data between devices at all: the collectives, and SUMMA's panel traffic.</summary>
    public virtual bool Communicates => IsCollective;

    /// <summary>True for layer launches (column-parallel, row-parallel, SUMMA).</summary>
    public virtual bool IsLaunch => false;

    /// <summary>True for the first step of a layer: a launch, or a transformer block's attention norm.</summary>
    public virtual bool StartsLayer => IsLaunch;

    /// <summary>A transformer block's half the step belongs to: 1 attention, 2 MLP; 0 outside blocks.</summary>
    public virtual int BlockHalf => 0;

    /// <summary>The step's backward: its method and call, or its conjugate collective (<see cref="BackwardPlan"/> orders them; the generator emits them).</summary>
    public abstract StepBackward Backward { get; }

    /// <summary>Bytes the step sends, all devices together (divide by P for the per-device figure). Exact for float32.</summary>
    public virtual long TotalBytes(StepSizes s) => 0;

    /// <summary>
    /// Bytes the backward's own method sends besides its conjugate, all devices together: the loss's statistics, and
    /// under sequence parallelism the replicated parameters' partial gradients (<see cref="ReplicatedGradients"/>).
    /// </summary>
    public virtual long BackwardTotalBytes(StepSizes s) => 0;

    /// <summary>Collective calls of <paramref name="op"/> the backward's own method issues (<see cref="BackwardTotalBytes"/>).</summary>
    public virtual int BackwardCalls(CollectiveOp op, StepSizes s) => 0;

    /// <summary>The backward's own collectives in words (<see cref="BackwardTotalBytes"/>), or null.</summary>
    public virtual string? BackwardCollectives(StepContext c) => null;

    /// <summary>A collective's bytes per device as a fraction of the activation's, in symbols: "(P−1)/P"; "" for the others.</summary>
    public virtual string BytesFormula => "";

    /// <summary>Collective calls of <paramref name="op"/> the step issues.</summary>
    public virtual int Calls(CollectiveOp op, StepSizes s) => 0;

    /// <summary>Message steps (each costing one latency α) as the runtime runs the step; 0 for local steps.</summary>
    public virtual int LatencySteps(StepSizes s) => 0;

    /// <summary>FLOPs on the whole model (a multiply-add counts 2); 0 for steps that only move data.</summary>
    public virtual double Flops(StepSizes s) => 0;

    /// <summary>The step in words: what moves where, in which shapes, at what cost, and why (one sentence a line, unwrapped).</summary>
    public abstract IEnumerable<string> Comment(StepContext c);

    /// <summary>
    /// The one description of the step, wrapped: the generated Forward's comment on it and <c>model.Plan</c>'s lines
    /// for it are these lines.
    /// </summary>
    public List<string> Describe(StepContext c)
    {
        var lines = new List<string>();
        foreach (var line in Comment(c)) lines.AddRange(PlanText.Wrap(line, PlanText.MaxCommentWidth));
        return lines;
    }

    /// <summary>For collectives: the line of the class remarks' "Collectives per forward pass" list; else null.</summary>
    public virtual string? Summary(StepContext c) => null;

    /// <summary>The kind's name, with its placements: "AllGather (token shards → replicated)".</summary>
    public override string ToString() => $"{Name} ({Input} → {Output})";
}
