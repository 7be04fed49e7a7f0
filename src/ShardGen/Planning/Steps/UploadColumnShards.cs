using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Device r gets input columns [r·F/P, (r+1)·F/P).</summary>
internal sealed class UploadColumnShards : UploadStep
{
    public override Placement Output => Placement.Shard(ShardAxis.Features);
    public override string Method => nameof(IStepMethods.UploadColumnShards);

    public override IEnumerable<string> Comment(StepContext c)
    {
        yield return $"Input X [T, {c.FText}] → column shards [T, {c.Text.OverP(c.F)}] per device: T·{c.Text.OverP(c.F)}·4 B host → device, per device.";
        if (c.Consumer is not null)
            yield return $"Shards, not copies: {c.ConsumerText} reads only its own input columns.";
    }
}
