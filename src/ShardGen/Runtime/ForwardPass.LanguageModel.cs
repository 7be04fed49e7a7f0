using System;
using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// The steps of a language model around its transformer stack: the vocab-parallel token lookup, learned positions,
// the final norm and the LM head. The token ids and each token's position live in the pass.
public sealed partial class ForwardPass
{
    private int[] _positions = Array.Empty<int>();
    private int[][] _tokenShardPositions = Array.Empty<int[]>(); // sequence parallel: each device's own tokens' positions
    private bool _positionsReady;

    /// <summary>The token ids of a language model's pass.</summary>
    public int[] TokenIds { get; private set; } = Array.Empty<int>();

    /// <summary>The pass's KV cache (one sequence), or null.</summary>
    internal ShardedKvCache? Cache { get; private set; }

    /// <summary>
    /// Each token's position: from 0 in each packed sequence, or continuing from the cache's length with a cache.
    /// Computed once per pass, into an array kept for the next pass (the kernels copy it when they enqueue).
    /// </summary>
    public int[] Positions
    {
        get
        {
            if (_positionsReady) return _positions;
            if (_positions.Length != Tokens) _positions = new int[Tokens];
            int offset = Cache?.Length ?? 0;
            for (int s = 0; s + 1 < SequenceStarts.Length; s++)
                for (int t = SequenceStarts[s]; t < SequenceStarts[s + 1]; t++) _positions[t] = offset + t - SequenceStarts[s];
            _positionsReady = true;
            return _positions;
        }
    }

    /// <summary>Each device looks the ids up in its own vocabulary rows (zeros for the others): partial sums of the embedded tokens.</summary>
    public ShardedTensor<PartialSums> TokenEmbedding(ShardedEmbedding embedding)
    {
        var info = embedding.Info;
        var y = Next(Placement.Partial, info.Hidden);
        for (int rank = 0; rank < P; rank++)
        {
            // Every row is written: a table row, or zeros.
            var shard = y.ShardArray[rank] = Allocate(rank, Tokens, info.Hidden);
            Devices[rank].Gather(TokenIds, info.FirstRow(rank), embedding.Tables[rank], shard);
        }
        return new(y);
    }

    /// <summary>Adds each token's position row to the whole residual stream, in place.</summary>
    public void PositionEmbedding(ShardedTensor<Replicated> x, ShardedEmbedding positions) => AddPositions(x.Tensor, positions);

    /// <summary>Adds each token's position row to the device's own tokens, in place (sequence parallel).</summary>
    public void PositionEmbedding(ShardedTensor<TokenShards> x, ShardedEmbedding positions) => AddPositions(x.Tensor, positions);

    private void AddPositions(ShardedTensor x, ShardedEmbedding positions)
    {
        int d = positions.Info.Hidden;
        if ((x.Placement != Placement.Replicated && x.Placement != Placement.TokenShards) || x.Features != d)
            throw new InvalidOperationException($"Position embedding '{positions.Info.Name}' needs the residual stream [T, {d}], got {x}.");
        var all = Positions;
        for (int rank = 0; rank < P; rank++)
        {
            var stream = x.ShardArray[rank];
            if (stream.Rows == 0) continue;
            var ids = x.Placement == Placement.TokenShards ? TokenShardPositions(rank) : all;
            var rows = Allocate(rank, stream.Rows, d);
            Devices[rank].Gather(ids, 0, positions.Tables[rank], rows);
            Devices[rank].Add(rows, stream);
        }
    }

    /// <summary>Positions of device <paramref name="rank"/>'s own tokens, in an array kept for the next pass (Gather copies it).</summary>
    private int[] TokenShardPositions(int rank)
    {
        if (_tokenShardPositions.Length != P) _tokenShardPositions = new int[P][];
        var (t0, tn) = TokenShard(rank);
        var own = _tokenShardPositions[rank];
        if (own is null || own.Length != tn) own = _tokenShardPositions[rank] = new int[tn];
        Positions.AsSpan(t0, tn).CopyTo(own);
        return own;
    }

    /// <summary>The final norm on the whole residual stream.</summary>
    public ShardedTensor<Replicated> FinalNorm(ShardedTensor<Replicated> x, ShardedNorm norm) => new(NormalizeStream(x.Tensor, norm));

    /// <summary>The final norm on each device's own tokens (sequence parallel).</summary>
    public ShardedTensor<TokenShards> FinalNorm(ShardedTensor<TokenShards> x, ShardedNorm norm) => new(NormalizeStream(x.Tensor, norm));

    private ShardedTensor NormalizeStream(ShardedTensor x, ShardedNorm norm)
    {
        var info = norm.Info;
        if ((x.Placement != Placement.Replicated && x.Placement != Placement.TokenShards) || x.Features != info.Hidden)
            throw new InvalidOperationException($"Norm '{info.Name}' needs the residual stream [T, {info.Hidden}], got {x}.");
        var y = Next(x.Placement, x.Features);
        for (int rank = 0; rank < P; rank++)
        {
            var src = x.ShardArray[rank];
            var shard = y.ShardArray[rank] = Allocate(rank, src.Rows, src.Cols);
            if (src.Rows > 0) Devices[rank].Normalize(src, shard, info.Kind, norm.Scale[rank], norm.Shift[rank], info.Epsilon);
        }
        return y;
    }

    /// <summary>The LM head: each device's logits of its own vocabulary range (uneven widths), bias fused.</summary>
    public ShardedTensor<ColumnShards> LmHead(ShardedTensor<Replicated> x, ShardedLinear head)
    {
        Expect(x, Placement.Replicated, head);
        var info = head.Info;
        var y = Next(Placement.ColumnShards, info.OutFeatures);
        for (int rank = 0; rank < P; rank++)
        {
            var shard = y.ShardArray[rank] = Allocate(rank, Tokens, info.OutFeaturesOf(rank));
            Devices[rank].Gemm(x.ShardArray[rank], false, head.Weights[rank], head.TransposedWeight, shard, accumulate: false, head.Biases[rank]);
        }
        return new(y);
    }
}
