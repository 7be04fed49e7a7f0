using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>The whole input to every device.</summary>
internal sealed class UploadReplicated : UploadStep
{
    public override Placement Output => Placement.Replicated;
    public override string Method => nameof(IStepMethods.UploadReplicated);

    public override IEnumerable<string> Comment(StepContext c)
    {
        yield return $"Input X [T, {c.FText}] → every device (replicated): T·{c.FText}·4 B host → device, per device.";
    }
}
