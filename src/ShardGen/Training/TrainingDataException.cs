namespace ShardGen.Training;

/// <summary>
/// Training data that cannot be used as given: a file that is not a 1-D int32 .npy, a token id outside the vocabulary,
/// too few tokens for one window, a batch that the replicas cannot split. Thrown before training starts; the message
/// names the file or number, what was found and the fix.
/// </summary>
public sealed class TrainingDataException : ShardingException
{
    public TrainingDataException(string message) : base(message) { }
}
