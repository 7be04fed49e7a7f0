using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Generators.Models;
using ShardGen.Planning;
using ShardGen.Planning.Steps;

namespace ShardGen.Generators.Emitting;

/// <summary>
/// A language model's training members: <c>ForwardBackward</c> (the forward with the activations each backward reads
/// kept, the vocab-parallel loss, then every step's backward in reverse plan order, each from its catalog entry) and
/// <c>Training</c>. Gradients are named after the activations they belong to (g7 is the gradient of a7); the residual
/// stream has one gradient (<see cref="ResidualStream"/>).
/// </summary>
internal static class TrainingEmitter
{
    private const string Ns = "global::ShardGen.";

    /// <summary>The block's input in the backward loop (the forward's loop variable, kept per block).</summary>
    private const string BlockInput = "blockInput";

    /// <summary>The array of what each block keeps for its backward.</summary>
    private const string Kept = "kept";

    /// <summary>The record struct the stack's blocks keep their activations in, nested in the model class (a model has one stack).</summary>
    public const string KeptType = "BlockActivations";

    public static void WriteMembers(SourceWriter w, ModelSpec model, LayerSpec[] layers, IReadOnlyList<PlanStep> steps, PlanText text)
    {
        if (!BackwardPlan.Supported(steps)) return;
        var flow = new Flow(steps);
        string x = ModelEmitter.Xml(model.Name);

        w.WriteLine("/// <summary>The model's parameters and their gradient shards (made on first use, zeroed); ForwardBackward adds into the gradients.</summary>");
        w.WriteLine($"public {Ns}Training.ModelTraining Training => _core.Training;");
        w.WriteLine();

        w.WriteLine($"/// <summary>One training pass of {x}: the forward keeping what each backward reads, the vocab-parallel cross-entropy against");
        w.WriteLine("/// <paramref name=\"targetIds\"/>, then every step's backward in reverse plan order; the gradients of <c>gradientScale · Σ_t loss_t</c>");
        w.WriteLine("/// are added to Training's gradient shards, each sharded like its weight. Returns Σ_t loss_t (natural log, summed in double).</summary>");
        w.WriteLine("/// <param name=\"inputIds\">Ids in [0, Vocab), packed sequences one after another.</param>");
        w.WriteLine("/// <param name=\"targetIds\">One target id per input id, in [0, Vocab).</param>");
        w.WriteLine("/// <param name=\"sequenceLengths\">The length of each packed sequence; null: one sequence.</param>");
        w.WriteLine("/// <param name=\"gradientScale\">d(Σ loss)/d(loss_t); 0: 1/tokens, the gradient of the mean loss.</param>");
        w.OpenBlock("public double ForwardBackward(int[] inputIds, int[] targetIds, int[]? sequenceLengths = null, float gradientScale = 0f)");
        w.WriteLine("using var pass = _core.BeginTraining(inputIds, targetIds, sequenceLengths, gradientScale);");
        WriteForward(w, layers, steps, flow);
        w.WriteLine();
        WriteBackward(w, layers, steps, text, flow);
        WriteSums(w, layers, steps, text, flow);
        w.WriteLine("return pass.Loss();");
        w.CloseBlock();
        w.WriteLine();
    }

    /// <summary>The record struct of each stack: the activations one block's backward reads, written once per stack.</summary>
    public static void WriteTypes(SourceWriter w, LayerSpec[] layers, IReadOnlyList<PlanStep> steps)
    {
        if (!BackwardPlan.Supported(steps)) return;
        var flow = new Flow(steps);
        foreach (var stack in flow.Stacks)
        {
            var layer = layers[stack];
            w.WriteLine();
            w.WriteLine($"/// <summary>What one block of {ModelEmitter.Xml(layer.Name)} keeps from the forward for its backward (the forward's variables, by name).</summary>");
            var fields = flow.KeptIn(stack).Select(v => $"{TensorType(flow.Placement(v))} {Field(v)}");
            w.WriteLine($"private readonly record struct {KeptType}(");
            w.Indent();
            var list = fields.ToArray();
            for (int j = 0; j < list.Length; j++) w.WriteLine(list[j] + (j + 1 < list.Length ? "," : ");"));
            w.Unindent();
        }
    }

    /// <summary>The forward, statement for statement as Forward writes it, minus the download; each block's kept activations stored.</summary>
    private static void WriteForward(SourceWriter w, LayerSpec[] layers, IReadOnlyList<PlanStep> steps, Flow flow)
    {
        w.WriteLine("// Forward: Forward's steps (their words are there), keeping the activations the backward reads.");
        string current = "";
        for (int k = 0; k < steps.Count; k++)
        {
            var step = steps[k];
            var type = step.Type;
            if (step.InStack && (k == 0 || !steps[k - 1].InStack))
            {
                w.WriteLine($"var stack = _core.Stack({PlanText.N(step.Stack)});");
                w.WriteLine($"var {Kept} = pass.KeptBlocks<{KeptType}>(stack.Count);");
                w.OpenBlock("for (int i = 0; i < stack.Count; i++)");
                w.WriteLine("var block = stack[i];");
            }
            if (type.Call == StepCall.Download) continue;
            w.WriteLine($"{LanguageModelEmitter.Statement(step, type, flow.Variables[k], current, flow.Variables)} // {PlanText.N(k + 1)}.");
            if (!type.IsInPlace) current = flow.Variables[k];
            if (step.InStack && (k + 1 == steps.Count || !steps[k + 1].InStack))
            {
                w.WriteLine($"{Kept}[i] = new({string.Join(", ", flow.KeptIn(step.Stack))});");
                w.WriteLine($"{StepContext.StreamVariable} = {current};");
                w.CloseBlock();
                current = StepContext.StreamVariable;
            }
        }
    }

    /// <summary>Every step's backward in reverse plan order, each with its words from the catalog.</summary>
    private static void WriteBackward(SourceWriter w, LayerSpec[] layers, IReadOnlyList<PlanStep> steps, PlanText text, Flow flow)
    {
        w.WriteLine("// Backward: the loss, then each step's backward from the last step to the first (the blocks from the last to the first).");
        var gradient = new Dictionary<string, string>();
        foreach (var v in flow.StreamVariables) gradient[v] = ResidualStream.Gradient;
        var declared = new HashSet<string>();
        foreach (var b in BackwardPlan.Of(steps))
        {
            int k = b.Index;
            var step = steps[k];
            if (step.InStack && (k + 1 == steps.Count || !steps[k + 1].InStack))
            {
                w.WriteLine($"// {layers[step.Stack].Name}: each block's backward, from the last block to the first.");
                w.OpenBlock("for (int i = stack.Count - 1; i >= 0; i--)");
                w.WriteLine("var block = stack[i];");
                w.WriteLine($"var ({string.Join(", ", flow.KeptIn(step.Stack).Select(Local))}) = {Kept}[i];");
            }
            var context = new StepContext(steps, k, layers, text, flow.Variables);
            var lines = new List<string>();
            foreach (var line in BackwardPlan.Comment(b, context)) lines.AddRange(PlanText.Wrap(line, PlanText.MaxCommentWidth));
            foreach (var line in lines) w.WriteLine($"// {line}");

            string input = flow.Inputs[k], output = flow.Variables[k];
            string x = step.InStack ? Local(input) : input;
            string layer = LanguageModelEmitter.LayerArgument(step, b.Type);
            string dX = input.Length == 0 ? "" : gradient.TryGetValue(input, out var g) ? g : "g" + input.Substring(1);
            BackwardCallWriter.Write(w, b, gradient, input, output, x, layer, dX, v => ResidualStream.Declare(v, declared));
            if (step.InStack && (k == 0 || !steps[k - 1].InStack)) w.CloseBlock();
        }
    }

    /// <summary>
    /// The backward's explicit end under sequence parallelism: the replicated parameters' per-device partial gradients
    /// summed into their twins before the loss ends the pass; nothing on a replicated stream (no partials).
    /// </summary>
    private static void WriteSums(SourceWriter w, LayerSpec[] layers, IReadOnlyList<PlanStep> steps, PlanText text, Flow flow)
    {
        var contexts = Enumerable.Range(0, steps.Count).Select(k => new StepContext(steps, k, layers, text, flow.Variables));
        if (ReplicatedGradients.EndWords(contexts, text) is not { } end) return;
        foreach (var line in end)
            foreach (var wrapped in PlanText.Wrap(line, PlanText.MaxCommentWidth)) w.WriteLine($"// {wrapped}");
        w.WriteLine($"pass.{nameof(IBackwardStepMethods.SumReplicatedGradients)}();");
    }

    /// <summary>The backward loop's local for a kept activation: the forward's name, the loop variable as the block's input.</summary>
    private static string Local(string variable) => variable == StepContext.StreamVariable ? BlockInput : variable;

    /// <summary>The record field of a kept activation: "Stream", "A3".</summary>
    private static string Field(string variable) => char.ToUpperInvariant(variable[0]) + variable.Substring(1);

    private static string TensorType(Placement p)
    {
        string placement = p.Kind switch
        {
            PlacementKind.Replicated => "Replicated",
            PlacementKind.Partial => "PartialSums",
            PlacementKind.Grid2D => "Blocks2D",
            _ => p.Axis switch
            {
                ShardAxis.Tokens => "TokenShards",
                ShardAxis.Heads => "HeadShards",
                _ => "ColumnShards",
            },
        };
        return $"{Ns}Runtime.ShardedTensor<{Ns}Runtime.{placement}>";
    }

    /// <summary>The forward's data flow: each step's variable, the variable it reads, the residual stream's variables and what each block keeps.</summary>
    private sealed class Flow
    {
        private readonly IReadOnlyList<PlanStep> _steps;
        private readonly Dictionary<string, Placement> _placements = new();

        public Flow(IReadOnlyList<PlanStep> steps)
        {
            _steps = steps;
            Variables = StepContext.VariableNames(steps);
            Inputs = new string[steps.Count];
            string current = "";
            for (int k = 0; k < steps.Count; k++)
            {
                var type = steps[k].Type;
                Inputs[k] = current;
                if (steps[k].InStack && (k == 0 || !steps[k - 1].InStack)) _placements[StepContext.StreamVariable] = steps[k].From;
                if (!type.IsInPlace && type.Call != StepCall.Download)
                {
                    current = Variables[k];
                    if (!_placements.ContainsKey(current)) _placements[current] = steps[k].To;
                }
                if (steps[k].InStack && (k + 1 == steps.Count || !steps[k + 1].InStack)) current = StepContext.StreamVariable;
            }
            StreamVariables = ResidualStream.Variables(steps, Variables);
        }

        /// <summary>The variable each step's output is held in (the forward's names).</summary>
        public string[] Variables { get; }

        /// <summary>The variable each step reads.</summary>
        public string[] Inputs { get; }

        public HashSet<string> StreamVariables { get; }

        public IEnumerable<int> Stacks => _steps.Where(s => s.InStack).Select(s => s.Stack).Distinct();

        public Placement Placement(string variable) => _placements[variable];

        /// <summary>The activations a block's backward reads, in forward order: the inputs of its steps' backwards that take one.</summary>
        public IEnumerable<string> KeptIn(int stack)
        {
            var kept = new List<string>();
            for (int k = 0; k < _steps.Count; k++)
            {
                if (!_steps[k].InStack || _steps[k].Stack != stack) continue;
                var call = _steps[k].Type.Backward.Call;
                if (call is BackwardCall.Gradient or BackwardCall.AddsToInputGradient or BackwardCall.Loss && !kept.Contains(Inputs[k]))
                    kept.Add(Inputs[k]);
            }
            return kept;
        }
    }
}
