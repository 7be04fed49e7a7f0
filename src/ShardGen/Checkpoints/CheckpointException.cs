namespace ShardGen.Checkpoints;

/// <summary>
/// A checkpoint that cannot be read as declared: a missing or misshaped tensor, an unsupported dtype, a damaged file
/// or a config.json that contradicts the model or the tensors. Thrown while opening, before any device memory is
/// touched; the message names the file, the tensor, what was expected and what was found, and the fix.
/// </summary>
public sealed class CheckpointException : ShardingException
{
    public CheckpointException(string message) : base(message) { }
}
