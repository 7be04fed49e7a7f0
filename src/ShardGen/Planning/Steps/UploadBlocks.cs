using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>Device (i, j) of the grid gets token block i × feature block j.</summary>
internal sealed class UploadBlocks : UploadStep
{
    public override Placement Output => Placement.Grid2D;
    public override string Method => nameof(IStepMethods.UploadBlocks);

    public override IEnumerable<string> Comment(StepContext c)
    {
        yield return $"Input X [T, {c.FText}] → blocks [{c.Text.TokenBlock}, {c.Text.OverQ(c.F)}] per device: device (i, j) of the {c.Text.Grid} grid gets token block i × feature block j.";
    }
}
