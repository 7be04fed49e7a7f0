using ShardGen.Checkpoints;

namespace ShardGen.Runtime;

/// <summary>
/// The checkpoint a model was loaded from: its config (family and sizes), config.json's bytes as they were, and the
/// GPT-2 name prefix its tensors had ("transformer." or ""), so a save writes the names and config it was loaded with.
/// </summary>
internal sealed record CheckpointOrigin(CheckpointConfig Config, byte[] ConfigJson, string Gpt2Prefix);

public sealed partial class ShardedModelCore
{
    /// <summary>Where the weights came from; null for a model created from an <see cref="IWeightSource"/>.</summary>
    internal CheckpointOrigin? Origin { get; set; }
}
