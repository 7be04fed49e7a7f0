using System.Collections.Generic;
using System.Linq;
using ShardGen.Generators.Models;
using ShardGen.Planning;
using ShardGen.Planning.Steps;

namespace ShardGen.Generators.Emitting;

/// <summary>
/// A float[,] model's <c>Backward(x, outputGradient)</c> and <c>Gradients(layer)</c>: the forward with what the
/// backward reads kept, then every step's backward in reverse plan order from its catalog entry (the launches' own
/// methods, the collectives' conjugates, Megatron's f after a column-parallel launch); the output's download becomes the
/// gradient's upload and the input's upload the gradient's download. Gradients are named after their activations
/// (g3 is the gradient of a3).
/// </summary>
internal static class LinearBackwardEmitter
{
    private const string Ns = "global::ShardGen.";

    /// <summary>True when every step has a generated backward (<see cref="BackwardPlan.SupportedLinear"/>).</summary>
    public static bool Supported(LayerSpec[] layers, IReadOnlyList<PlanStep> steps) => BackwardPlan.SupportedLinear(layers, steps);

    public static void WriteMembers(SourceWriter w, ModelSpec model, LayerSpec[] layers, IReadOnlyList<PlanStep> steps, PlanText text)
    {
        if (!Supported(layers, steps)) return;
        var variables = StepContext.VariableNames(steps);
        int inF = layers[0].InFeatures, outF = layers[layers.Length - 1].OutFeatures;
        string name = ModelEmitter.Xml(model.Name);

        w.WriteLine($"/// <summary>One training pass of {name}: the forward on <paramref name=\"x\"/> [tokens, {PlanText.N(inF)}] keeping what the backward reads, then every");
        w.WriteLine("/// step's backward in reverse plan order. Each layer's weight and bias gradients are added to its gradient shards, sharded");
        w.WriteLine("/// like its weights (read them with Gradients); returns dLoss/dX [tokens, " + PlanText.N(inF) + "].</summary>");
        w.WriteLine("/// <param name=\"x\">The input activations, one row per token.</param>");
        w.WriteLine($"/// <param name=\"outputGradient\">dLoss/dY [tokens, {PlanText.N(outF)}], the gradient of the forward's output.</param>");
        // A block attends within each packed sequence, so its model's Backward takes their lengths as Forward does.
        bool blocks = layers.Any(l => l.Strategy == ParallelStrategy.TransformerBlock);
        if (blocks)
        {
            w.WriteLine("/// <param name=\"sequenceLengths\">The length of each sequence packed along x's rows, as Forward takes them; null: x is one sequence.</param>");
            w.OpenBlock("public float[,] Backward(float[,] x, float[,] outputGradient, int[]? sequenceLengths)");
            w.WriteLine("using var pass = _core.BeginTraining(x, outputGradient, sequenceLengths);");
        }
        else
        {
            w.OpenBlock("public float[,] Backward(float[,] x, float[,] outputGradient)");
            w.WriteLine("using var pass = _core.BeginTraining(x, outputGradient);");
        }
        w.WriteLine("// Forward: Forward's steps (their words are there); a training pass keeps every activation until it ends.");
        var inputs = new string[steps.Count];
        string current = "";
        for (int k = 0; k < steps.Count; k++)
        {
            var step = steps[k];
            var type = step.Type;
            inputs[k] = current;
            if (type.Call == StepCall.Download) continue;
            w.WriteLine($"{LanguageModelEmitter.Statement(step, type, variables[k], current, variables)} // {PlanText.N(k + 1)}.");
            if (!type.IsInPlace) current = variables[k];
        }
        w.WriteLine();
        w.WriteLine("// Backward: each step's backward from the last step to the first.");
        // A block's residual stream has one gradient (ResidualStream), declared where the first backward writes it.
        var stream = ResidualStream.Variables(steps, variables);
        var gradient = new Dictionary<string, string>();
        foreach (var v in stream) gradient[v] = ResidualStream.Gradient;
        var declared = new HashSet<string>();
        string Declare(string v) => ResidualStream.Declare(v, declared);
        foreach (var b in BackwardPlan.Of(steps))
        {
            int k = b.Index;
            var step = steps[k];
            string input = inputs[k];
            // An in-place step's output is its input's tensor.
            string output = b.Type.IsInPlace || b.Type.Call == StepCall.Download ? input : variables[k];
            string dX = input.Length == 0 ? "" : stream.Contains(input) ? ResidualStream.Gradient : "g" + input.Substring(1);
            if (b.Type.Call == StepCall.Download)
            {
                w.WriteLine($"// Backward of step {PlanText.N(k + 1)}: dLoss/dY onto the devices, laid out as the output (the same cuts as the input's upload).");
                w.WriteLine($"{Declare(dX)} = pass.{nameof(IBackwardStepMethods.UploadGradient)}({input});");
                gradient[input] = dX;
                continue;
            }
            if (b.Type.Call == StepCall.Upload)
            {
                var contexts = Enumerable.Range(0, steps.Count).Select(i => new StepContext(steps, i, layers, text, variables));
                if (ReplicatedGradients.EndWords(contexts, text) is { } end)
                {
                    foreach (var line in end)
                        foreach (var wrapped in PlanText.Wrap(line, PlanText.MaxCommentWidth)) w.WriteLine($"// {wrapped}");
                    w.WriteLine($"pass.{nameof(IBackwardStepMethods.SumReplicatedGradients)}();");
                }
                w.WriteLine($"// Backward of step {PlanText.N(k + 1)}: dLoss/dX to the host, as Forward's output is downloaded.");
                w.WriteLine($"return pass.Download({gradient[output]});");
                continue;
            }
            var context = new StepContext(steps, k, layers, text, variables);
            foreach (var line in BackwardPlan.Comment(b, context))
                foreach (var wrapped in PlanText.Wrap(line, PlanText.MaxCommentWidth)) w.WriteLine($"// {wrapped}");
            string layer = LanguageModelEmitter.LayerArgument(step, b.Type);
            BackwardCallWriter.Write(w, b, gradient, input, output, input, layer, dX, Declare);
        }
        w.CloseBlock();
        w.WriteLine();
        if (blocks)
        {
            w.WriteLine($"/// <summary>One training pass of {name} on one sequence: Backward with no sequence lengths.</summary>");
            w.WriteLine("/// <param name=\"x\">The input activations, one row per token.</param>");
            w.WriteLine("/// <param name=\"outputGradient\">dLoss/dY, the gradient of the forward's output.</param>");
            w.WriteLine("public float[,] Backward(float[,] x, float[,] outputGradient) => Backward(x, outputGradient, null);");
            w.WriteLine();
        }
        w.WriteLine("/// <summary>Layer <paramref name=\"layerIndex\"/>'s gradients added up by every Backward so far, gathered to the host in its declared layout (a copy).</summary>");
        if (blocks)
        {
            w.WriteLine("/// <param name=\"layerIndex\">The layer's index in forward order.</param>");
            w.WriteLine($"/// <returns>A transformer block's <see cref=\"{Ns}TransformerBlockWeights\"/> (the fused q|k|v as Weights takes it), a linear layer's <see cref=\"{Ns}LinearWeights\"/>.</returns>");
            w.WriteLine($"public {Ns}LayerWeights Gradients(int layerIndex) => _core.LayerGradients(layerIndex);");
        }
        else
        {
            w.WriteLine("/// <param name=\"layerIndex\">The layer's index in forward order.</param>");
            w.WriteLine($"public {Ns}LinearWeights Gradients(int layerIndex) => _core.Gradients(layerIndex);");
        }
        w.WriteLine();
        w.WriteLine("/// <summary>The layers' weight and bias shards and, slice for slice, their gradient shards: zeroing, clipping and optimizer steps.</summary>");
        w.WriteLine($"public {Ns}Training.ModelTraining Training => _core.Training;");
        w.WriteLine();
    }
}
