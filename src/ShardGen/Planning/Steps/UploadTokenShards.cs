using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Device r gets token block r (sequence parallelism).</summary>
internal sealed class UploadTokenShards : UploadStep
{
    public override Placement Output => Placement.Shard(ShardAxis.Tokens);
    public override string Method => nameof(IStepMethods.UploadTokenShards);

    public override IEnumerable<string> Comment(StepContext c)
    {
        yield return $"Input X [T, {c.FText}] → token blocks [{c.Text.TokenShard}, {c.FText}] per device (sequence parallel): device r gets the r-th block of tokens; " +
            $"{c.Text.TokenShard}·{c.FText}·4 B host → device, per device.";
    }
}
