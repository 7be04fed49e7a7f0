namespace ShardGen.Generators.Emitting;

/// <summary>
/// The names of the members <see cref="ModelEmitter"/> writes into every model besides its layers. The readers
/// check user members and the model's own name against these (SHARD014, SHARD021); a test compares them with
/// what the emitter actually writes, so the list cannot fall behind it.
/// </summary>
internal static class GeneratedMembers
{
    /// <summary>Members of the model class (a constructor aside).</summary>
    public static readonly string[] Names =
    {
        "DeclaredDevices", "SequenceParallel", "LayerSpecs", "PlanFor", "_core", "Plan", "Mesh", "LastForward",
        "Weights", "Create", "Forward", "Dispose",
        // Float models whose every step has a backward: Backward(x, outputGradient) and the gradients' download.
        "Backward", "Gradients",
        // Language models (a model with a token embedding) besides: Load from a checkpoint, the ILanguageModel members.
        "Load", "Vocab", "CreateCache",
        // and the training members: ITrainableLanguageModel's, and the record struct each block keeps its activations in.
        "ForwardBackward", "Training", "BlockActivations",
    };

    /// <summary>Members of the generated nested <c>Weights</c> class besides one property per layer.</summary>
    public static readonly string[] WeightsNames = { "Random" };

    /// <summary>True when the emitter writes a member named <paramref name="name"/> into every model.</summary>
    public static bool Contains(string name) => System.Array.IndexOf(Names, name) >= 0;
}
