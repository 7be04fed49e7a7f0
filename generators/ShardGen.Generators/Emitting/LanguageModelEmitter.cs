using System.Collections.Generic;
using System.Linq;
using ShardGen.Generators.Models;
using ShardGen.Planning;
using ShardGen.Planning.Steps;

namespace ShardGen.Generators.Emitting;

/// <summary>
/// The members of a language model (a model with a token embedding): <c>Load</c> from a checkpoint folder, <c>Create</c>
/// from any <see cref="IWeightSource"/>-like source, <c>Forward</c> on token ids (packed sequences, or one sequence with
/// a KV cache) and the <c>ILanguageModel</c> members. Forward runs the transformer stack as a loop over its blocks with
/// one block's steps written once inside it; every step's words are the catalog's.
/// </summary>
internal static class LanguageModelEmitter
{
    private const string Ns = "global::ShardGen.";

    /// <summary>True for a model with a token embedding: it takes token ids and returns logits.</summary>
    public static bool Is(IReadOnlyList<LayerSpec> layers) => layers.Any(l => l.Strategy == ParallelStrategy.VocabEmbedding);

    /// <summary>The class remarks' line for a language-model layer, or null for the other kinds.</summary>
    public static string? Summary(LayerSpec l, bool sequenceParallel, PlanText text)
    {
        string d = PlanText.Size(l.OutFeatures, "hidden"), open = l.IsOpen ? " (named sizes: from config.json at load)" : "";
        switch (l.Strategy)
        {
            case ParallelStrategy.VocabEmbedding:
                return $"{l.Name}: vocab-parallel embedding [{PlanText.Size(l.InFeatures, "vocab")}, {d}], each device its own range of vocabulary rows " +
                    $"(uneven when the vocabulary does not divide), zeros for ids outside it, then one {(sequenceParallel ? "reduce-scatter over tokens" : "all-reduce")}{open}.";
            case ParallelStrategy.PositionEmbedding:
                return $"{l.Name}: learned position embedding [{PlanText.Size(l.InFeatures, "positions")}, {d}], replicated, added to the residual stream{open}.";
            case ParallelStrategy.TransformerStack:
                var b = l.Block!;
                string mlp = b.Mlp == MlpKind.Gated ? "gated MLP (gate|up fused per device)" : "MLP";
                return $"{l.Name}: a stack of {(b.Layers > 0 ? PlanText.N(b.Layers) : "config.json's")} identical blocks, run in a loop; each: " +
                    ModelEmitter.BlockSummary(l, b, sequenceParallel, text).Substring(l.Name.Length + 2).TrimEnd('.') +
                    $"; {mlp}{(b.Rotary ? ", rotary positions on q and k" : "")}{(b.QkvBias ? ", q/k/v biases" : "")}{open}.";
            case ParallelStrategy.FinalNorm:
                return $"{l.Name}: final norm ({(l.Norm == NormKind.RmsNorm ? "RMSNorm" : "LayerNorm")}), replicated{open}.";
            case ParallelStrategy.LmHead:
                return $"{l.Name}: LM head [{PlanText.Size(l.InFeatures, "hidden")}, {PlanText.Size(l.OutFeatures, "vocab")}], column-parallel over the vocabulary (the embedding's row ranges); " +
                    $"tied to the embedding when config.json says so (no second copy); logits gathered by the host{open}.";
            default:
                return null;
        }
    }

    public static void WriteMembers(SourceWriter w, ModelSpec model, LayerSpec[] layers, IReadOnlyList<PlanStep> steps, PlanText text)
    {
        string name = model.Name, type = ModelEmitter.Identifier(name), literal = ModelEmitter.Literal(name);
        string x = ModelEmitter.Xml(name);

        w.WriteLine("/// <summary>The vocabulary size: token ids are [0, Vocab).</summary>");
        w.WriteLine("public int Vocab => _core.Plan.Vocab;");
        w.WriteLine();

        w.WriteLine($"/// <summary>Loads {x} from a Hugging Face checkpoint folder: sizes left at 0 come from its config.json, every tensor is checked");
        w.WriteLine("/// (presence, dtype, shape) before any device memory is touched, then each device reads only its own slices from the mapped files");
        w.WriteLine("/// (CPU devices on Linux use F32 tensors in place, in a private mapping of the file: nothing is copied).</summary>");
        w.WriteLine("/// <param name=\"mesh\">The devices to shard over.</param>");
        w.WriteLine("/// <param name=\"checkpointDirectory\">config.json and model.safetensors (or model.safetensors.index.json and its files).</param>");
        w.WriteLine("/// <param name=\"copyWeights\">Copy every slice into device memory, even where it could be used in place: for a checkpoint file that will be");
        w.WriteLine("/// overwritten while the model lives (truncating a mapped file kills the process).</param>");
        w.WriteLine("/// <param name=\"keepBFloat16\">Keep a BF16 checkpoint's matrices in BF16, viewed in place (half the bytes each decoded token reads);");
        w.WriteLine("/// such weights are read-only: load without it to train.</param>");
        w.WriteLine($"public static {type} Load({Ns}DeviceMesh mesh, string checkpointDirectory, bool copyWeights = false, bool keepBFloat16 = false) =>");
        w.WriteLine($"    new({Ns}Runtime.LanguageModelLoader.Load(mesh, {literal}, LayerSpecs, DeclaredDevices, SequenceParallel, checkpointDirectory, copyWeights, keepBFloat16));");
        w.WriteLine();

        w.WriteLine($"/// <summary>Creates {x} from logical weights (<paramref name=\"weights\"/>, [in, out] matrices), every tensor checked first.</summary>");
        w.WriteLine("/// <param name=\"mesh\">The devices to shard over.</param>");
        w.WriteLine("/// <param name=\"weights\">The model's tensors by layer, block and role.</param>");
        w.WriteLine("/// <param name=\"layers\">LayerSpecs with their open sizes (0) filled in; null: LayerSpecs, every size pinned.</param>");
        w.OpenBlock($"public static {type} Create({Ns}DeviceMesh mesh, {Ns}IWeightSource weights, global::System.Collections.Generic.IReadOnlyList<{Ns}Planning.LayerSpec>? layers = null)");
        w.WriteLine($"if (layers is not null) {Ns}Runtime.LanguageModelLoader.CheckResolved({literal}, LayerSpecs, layers);");
        w.WriteLine($"return new({Ns}Runtime.LanguageModelLoader.Create(mesh, {literal}, layers ?? LayerSpecs, DeclaredDevices, SequenceParallel, weights));");
        w.CloseBlock();
        w.WriteLine();

        w.WriteLine($"/// <summary>A KV cache for one sequence of up to <paramref name=\"maxTokens\"/> tokens: each device keeps its own KV heads of every block.</summary>");
        w.WriteLine("/// <param name=\"maxTokens\">Prompt and generated tokens together.</param>");
        w.WriteLine($"public {Ns}KvCache CreateCache(int maxTokens) => _core.CreateCache(maxTokens);");
        w.WriteLine();

        w.WriteLine($"/// <summary>Runs {x} on one sequence of token ids; returns the logits [tokens, vocab].</summary>");
        w.WriteLine("/// <param name=\"tokenIds\">Ids in [0, Vocab).</param>");
        w.WriteLine("public float[,] Forward(int[] tokenIds) => Forward(tokenIds, null, null);");
        w.WriteLine();
        w.WriteLine($"/// <summary>Runs {x} on sequences packed one after another; returns the logits [tokens, vocab]. Attention and positions stay within each sequence.</summary>");
        w.WriteLine("/// <param name=\"tokenIds\">Ids in [0, Vocab), the sequences one after another.</param>");
        w.WriteLine("/// <param name=\"sequenceLengths\">The length of each sequence, adding up to the ids; null: one sequence.</param>");
        w.WriteLine("public float[,] Forward(int[] tokenIds, int[]? sequenceLengths) => Forward(tokenIds, sequenceLengths, null);");
        w.WriteLine();
        w.WriteLine($"float[,] {Ns}ILanguageModel.Forward(int[] tokenIds, {Ns}KvCache? cache) => Forward(tokenIds, null, cache);");
        w.WriteLine();

        w.WriteLine($"/// <summary>Runs {x} on token ids: packed sequences, or one sequence continuing <paramref name=\"cache\"/> (positions go on from its length, the");
        w.WriteLine("/// tokens' keys and values are appended). Returns the logits of these tokens, [tokens, vocab].</summary>");
        w.WriteLine("/// <param name=\"tokenIds\">Ids in [0, Vocab).</param>");
        w.WriteLine("/// <param name=\"sequenceLengths\">The length of each packed sequence (null: one); one sequence with a cache.</param>");
        w.WriteLine("/// <param name=\"cache\">A cache from CreateCache, or null.</param>");
        w.OpenBlock($"public float[,] Forward(int[] tokenIds, int[]? sequenceLengths, {Ns}KvCache? cache)");
        w.WriteLine("using var pass = _core.BeginForward(tokenIds, sequenceLengths, cache);");
        if (layers.Any(l => l.IsOpen))
            w.WriteLine("// Sizes from config.json are named in these comments (hidden, vocab, heads, ffn, …); model.Plan prints every step with the loaded sizes.");
        WriteBody(w, layers, steps, text);
        w.CloseBlock();
        w.WriteLine();

        TrainingEmitter.WriteMembers(w, model, layers, steps, text);
    }

    private static void WriteBody(SourceWriter w, LayerSpec[] layers, IReadOnlyList<PlanStep> steps, PlanText text)
    {
        var variables = StepContext.VariableNames(steps);
        string current = "";
        bool inLoop = false;
        for (int k = 0; k < steps.Count; k++)
        {
            var step = steps[k];
            var type = step.Type;
            if (step.InStack && !inLoop)
            {
                var stack = layers[step.Stack];
                int count = stack.Block!.Layers;
                w.WriteLine($"// {stack.Name}: the steps of one block, run for each of its {(count > 0 ? PlanText.N(count) + " blocks" : "blocks (config.json's count)")} in order; " +
                    "each block reads the residual stream and leaves its output there.");
                w.WriteLine($"var stack = _core.Stack({PlanText.N(step.Stack)});");
                w.OpenBlock("for (int i = 0; i < stack.Count; i++)");
                w.WriteLine("var block = stack[i];");
                inLoop = true;
            }
            var lines = type.Describe(new StepContext(steps, k, layers, text, variables));
            w.WriteLine($"// {PlanText.N(k + 1)}. {lines[0]}");
            for (int j = 1; j < lines.Count; j++) w.WriteLine($"//    {lines[j]}");

            if (type.Call == StepCall.Download)
            {
                w.WriteLine($"return pass.{type.Method}({current});");
            }
            else
            {
                w.WriteLine(Statement(step, type, variables[k], current, variables));
                if (!type.IsInPlace) current = variables[k];
            }
            if (inLoop && (k + 1 == steps.Count || !steps[k + 1].InStack))
            {
                w.WriteLine($"{StepContext.StreamVariable} = {current};");
                w.CloseBlock();
                current = StepContext.StreamVariable;
                inLoop = false;
            }
        }
    }

    /// <summary>
    /// The forward statement of <paramref name="step"/> reading <paramref name="current"/>, for every emitter (every call but the download's):
    /// <c>var a3 = pass.QkvProjection(a2, block);</c>.
    /// </summary>
    public static string Statement(PlanStep step, StepType type, string v, string current, string[] variables)
    {
        string method = type.Method;
        string layer = LayerArgument(step, type);
        return type.Call switch
        {
            StepCall.EmbeddingLookup => $"var {v} = pass.{method}({layer});",
            StepCall.EmbeddingInPlace or StepCall.LinearInPlace => $"pass.{method}({current}, {layer});",
            StepCall.NormLaunch or StepCall.LinearLaunch or StepCall.BlockLaunch => $"var {v} = pass.{method}({current}, {layer});",
            StepCall.BlockResidual => $"pass.{method}({current}, {variables[step.ResidualStep]}, {layer});",
            _ => $"var {v} = pass.{method}({current});",
        };
    }

    /// <summary>The layer argument of a step's ForwardPass call (and of its backward): <c>_core.Linear(3)</c>, <c>block</c>; "" for transitions.</summary>
    public static string LayerArgument(PlanStep step, StepType type)
    {
        string index = PlanText.N(step.LayerIndex);
        return type.Call switch
        {
            StepCall.EmbeddingLookup or StepCall.EmbeddingInPlace => $"_core.Embedding({index})",
            StepCall.NormLaunch => $"_core.Norm({index})",
            StepCall.LinearLaunch or StepCall.LinearInPlace => $"_core.Linear({index})",
            StepCall.BlockLaunch or StepCall.BlockResidual => step.InStack ? "block" : $"_core.Block({index})",
            _ => "",
        };
    }
}
