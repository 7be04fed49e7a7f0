namespace ShardGen;

/// <summary>
/// A language model the generator also wrote a backward for: one call runs the forward pass with the activations
/// kept, the vocab-parallel cross-entropy and the backward, accumulating every parameter's gradient into
/// <see cref="Training"/>'s gradient shards. Optimizers and trainers drive it through this interface.
/// </summary>
public interface ITrainableLanguageModel : ILanguageModel
{
    /// <summary>
    /// Forward, loss and backward on packed sequences: <paramref name="inputIds"/> and <paramref name="targetIds"/> have one
    /// id per token; <paramref name="sequenceLengths"/> as in Forward (null: one sequence). Gradients of
    /// <c>gradientScale · Σ_t loss_t</c> are ADDED to the gradient shards (gradientScale 0 means 1/tokens: the mean).
    /// Returns Σ_t loss_t (natural log, summed in double) over this call's tokens.
    /// </summary>
    double ForwardBackward(int[] inputIds, int[] targetIds, int[]? sequenceLengths = null, float gradientScale = 0f);

    /// <summary>The model's parameters, gradients and checkpoint writer.</summary>
    Training.ModelTraining Training { get; }
}
