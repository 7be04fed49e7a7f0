namespace ShardGen.Planning;

/// <summary>
/// A rule a model breaks. <see cref="Id"/> is the compile-time diagnostic ID; the runtime throws the same
/// <see cref="Message"/>. <see cref="LayerIndex"/> points at the culprit (−1: the model itself) and
/// <see cref="OtherLayerIndex"/> at a second layer involved, if any.
/// </summary>
#if SHARDGEN_RUNTIME
public
#endif
sealed record ShardProblem(string Id, int LayerIndex, int OtherLayerIndex, string Message);

/// <summary>Diagnostic IDs of the rules shared by the generator and the runtime.</summary>
#if SHARDGEN_RUNTIME
public
#endif
static class ShardProblemIds
{
    public const string NonPositiveFeatures = "SHARD006";
    public const string FeaturesDoNotChain = "SHARD007";
    public const string NotDivisibleByDevices = "SHARD008";
    public const string GridNotSquare = "SHARD009";
    public const string NotDivisibleByGrid = "SHARD010";
    public const string NoLayers = "SHARD011";
    public const string InvalidDeviceCount = "SHARD012";
    public const string InvalidBlockShape = "SHARD017";
    public const string HeadsNotDivisibleByDevices = "SHARD018";
}
