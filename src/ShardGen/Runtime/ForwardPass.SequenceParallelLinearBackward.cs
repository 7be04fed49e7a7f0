using ShardGen.Devices;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// The backward of a row-parallel layer's bias and activation after a reduce-scatter over tokens (sequence parallel).
// The layer's GEMMs and the collectives around it need nothing new: the all-gather of tokens before a column-parallel
// layer has the reduce-scatter over tokens as its conjugate, and the other way round (the forward methods).
public sealed partial class ForwardPass
{
    /// <summary>
    /// After a reduce-scatter onto token shards, in place: dY ← act'(z) ⊙ dY on each device's own tokens; each device's
    /// Σ_t dY over those tokens goes into a zeroed [1, F] partial, and the partials are all-reduced so every device's
    /// twin of the (replicated) bias gets the sum over all tokens once, as with a replicated result.
    /// </summary>
    public void BiasActivationBackward(ShardedTensor<TokenShards> dY, ShardedLinear layer)
    {
        ExpectTraining(nameof(BiasActivationBackward));
        ExpectGradient(dY.Tensor, Placement.TokenShards, layer);
        var z = KeepsPreActivation(layer) ? PreActivationOf(layer, nameof(BiasActivationBackward)) : null;
        var twin = LinearTwin(layer);
        int f = layer.Info.OutFeatures;
        var partials = twin.Biases[0] is null ? null : new MatrixView[P];
        for (int rank = 0; rank < P; rank++)
        {
            var dy = dY.ShardArray[rank];
            if (z is not null && dy.Rows > 0) Devices[rank].ActivationBackward(z.ShardArray[rank], dy, dy, layer.Info.Activation);
            if (partials is null) continue;
            // Zeroed: BiasGradient accumulates, and a device without tokens adds nothing.
            partials[rank] = ZeroedPartial(rank, 1, f);
            if (dy.Rows > 0) Devices[rank].BiasGradient(dy, partials[rank]);
        }
        if (partials is null) return;
        Mesh.Collectives.AllReduce(Mesh.World, partials);
        for (int rank = 0; rank < P; rank++) Devices[rank].Add(partials[rank], twin.Biases[rank]!.Value);
    }
}
