using System.Collections.Generic;

namespace ShardGen.Planning.Steps;

/// <summary>A row-parallel layer's bias and activation, once its partial sums are reduced; in place.</summary>
internal sealed class BiasActivation : StepType
{
    public override PlanStepKind Kind => PlanStepKind.BiasActivation;
    public override Placement Input => Placement.Replicated;
    public override Placement Output => Placement.Replicated;
    public override string Method => nameof(IStepMethods.BiasActivation);
    public override bool AcceptsAnyInput => true; // whichever placement the reduction left
    public override StepCall Call => StepCall.LinearInPlace;
    public override StepBackward Backward { get; } = new(BackwardOp.Local, "the activation's derivative, elementwise; dBias = the gradient summed over tokens",
        nameof(IBackwardStepMethods.BiasActivationBackward), BackwardCall.Parameters);

    public override IEnumerable<string> Comment(StepContext c)
    {
        var layer = c.Layer!;
        string activation = layer.Activation == Activation.None ? "" : PlanText.ActivationName(layer.Activation);
        if (!layer.HasBias)
            yield return $"{layer.Name}: {activation} on the reduced sums (never on the partial sums).";
        else if (c.Step.From == TensorLayout.ColumnSharded)
            yield return $"{layer.Name}: bias [{c.FText}] added once, after the reduction: each device adds its slice [{c.Text.OverP(c.F)}]{(activation.Length > 0 ? $"; then {activation}" : "")}.";
        else
            yield return $"{layer.Name}: bias [{c.FText}] added once, after the reduction{(activation.Length > 0 ? $"; then {activation}" : "")}.";
    }
}
