using System;
using System.Collections.Generic;
using ShardGen.Planning;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// The one description of ShardGen's attributes that both model readers use: the syntactic reader to know which
/// literals to accept and which names must bind, the semantic parser to read bound constants. A new argument is
/// one row here plus its use in the layer's <c>build</c>.
/// </summary>
internal static class AttributeTable
{
    public static readonly AttributeDescription ShardedModel = new("ShardedModel", null, null,
        positional: Array.Empty<ArgumentDescription>(),
        named: new[]
        {
            new ArgumentDescription("Devices", ArgumentType.Int, 0),
            new ArgumentDescription("SequenceParallel", ArgumentType.Bool, false),
        });

    private static readonly ArgumentDescription[] LinearPositional =
    {
        new("InFeatures", ArgumentType.Int), new("OutFeatures", ArgumentType.Int),
    };

    private static readonly ArgumentDescription[] LinearNamed =
    {
        new("Bias", ArgumentType.Bool, true),
        new("Activation", ArgumentType.Enum, Activation.None, typeof(Activation)),
        new("WeightLayout", ArgumentType.Enum, WeightLayout.InOut, typeof(WeightLayout)),
    };

    private static AttributeDescription Linear(string shortName, ParallelStrategy strategy) =>
        new(shortName, strategy, "Linear", LinearPositional, LinearNamed, (name, v) =>
            new LayerSpec(name, strategy, v.Get<int>("InFeatures"), v.Get<int>("OutFeatures"), v.Get<bool>("Bias"),
                v.Get<Activation>("Activation"), v.Get<WeightLayout>("WeightLayout")));

    /// <summary>
    /// [TransformerBlock(hidden, heads)] with the defaults that depend on other arguments resolved (KvHeads 0 →
    /// heads, FfnHidden 0 → 4·hidden), so the emitted LayerSpecs state the real shape.
    /// </summary>
    private static readonly AttributeDescription Block = new("TransformerBlock", ParallelStrategy.TransformerBlock, "TransformerBlock",
        positional: new ArgumentDescription[] { new("Hidden", ArgumentType.Int), new("Heads", ArgumentType.Int) },
        named: new ArgumentDescription[]
        {
            new("KvHeads", ArgumentType.Int, 0),
            new("FfnHidden", ArgumentType.Int, 0),
            new("Norm", ArgumentType.Enum, NormKind.LayerNorm, typeof(NormKind)),
            new("Causal", ArgumentType.Bool, true),
            new("Activation", ArgumentType.Enum, Activation.Gelu, typeof(Activation)),
            new("Bias", ArgumentType.Bool, true),
            new("NormEpsilon", ArgumentType.Float, 1e-5f),
        },
        build: (name, v) =>
        {
            int hidden = v.Get<int>("Hidden"), heads = v.Get<int>("Heads");
            int kvHeads = v.Get<int>("KvHeads"), ffnHidden = v.Get<int>("FfnHidden");
            if (kvHeads == 0) kvHeads = heads;
            // 4·hidden past int.MaxValue would wrap around; say "not positive" instead (SHARD017) of planning nonsense.
            if (ffnHidden == 0) ffnHidden = hidden > int.MaxValue / 4 ? -1 : 4 * hidden;
            return new LayerSpec(name, ParallelStrategy.TransformerBlock, hidden, hidden, v.Get<bool>("Bias"), v.Get<Activation>("Activation"), WeightLayout.InOut)
            {
                Block = new TransformerSpec(heads, kvHeads, ffnHidden, v.Get<NormKind>("Norm"), v.Get<bool>("Causal"), v.Get<float>("NormEpsilon")),
            };
        });

    // The language-model layers: every size of 0 stays 0, "read from config.json at load" (LayerSpec.IsOpen), so
    // the LayerSpecs hold exactly what was written and the runtime fills in the rest.

    /// <summary>[VocabParallelEmbedding]: In = vocab, Out = hidden.</summary>
    private static readonly AttributeDescription VocabEmbedding = new("VocabParallelEmbedding", ParallelStrategy.VocabEmbedding, "Embedding",
        positional: Array.Empty<ArgumentDescription>(),
        named: new ArgumentDescription[] { new("Vocab", ArgumentType.Int, 0), new("Hidden", ArgumentType.Int, 0) },
        build: (name, v) => Table(name, ParallelStrategy.VocabEmbedding, v.Get<int>("Vocab"), v.Get<int>("Hidden")));

    /// <summary>[PositionEmbedding]: In = positions, Out = hidden.</summary>
    private static readonly AttributeDescription PositionEmbedding = new("PositionEmbedding", ParallelStrategy.PositionEmbedding, "Embedding",
        positional: Array.Empty<ArgumentDescription>(),
        named: new ArgumentDescription[] { new("Positions", ArgumentType.Int, 0), new("Hidden", ArgumentType.Int, 0) },
        build: (name, v) => Table(name, ParallelStrategy.PositionEmbedding, v.Get<int>("Positions"), v.Get<int>("Hidden")));

    /// <summary>[TransformerStack]: In = Out = hidden; the per-block shape in <see cref="LayerSpec.Block"/>.</summary>
    private static readonly AttributeDescription Stack = new("TransformerStack", ParallelStrategy.TransformerStack, "TransformerStack",
        positional: Array.Empty<ArgumentDescription>(),
        named: new ArgumentDescription[]
        {
            new("Layers", ArgumentType.Int, 0),
            new("Hidden", ArgumentType.Int, 0),
            new("Heads", ArgumentType.Int, 0),
            new("KvHeads", ArgumentType.Int, 0),
            new("FfnHidden", ArgumentType.Int, 0),
            new("Norm", ArgumentType.Enum, NormKind.RmsNorm, typeof(NormKind)),
            new("NormEpsilon", ArgumentType.Float, 0f),
            new("Causal", ArgumentType.Bool, true),
            new("Activation", ArgumentType.Enum, Activation.Silu, typeof(Activation)),
            new("Mlp", ArgumentType.Enum, MlpKind.Gated, typeof(MlpKind)),
            new("Rotary", ArgumentType.Bool, true),
            new("RopeTheta", ArgumentType.Float, 0f),
            new("Bias", ArgumentType.Bool, false),
        },
        build: (name, v) =>
        {
            int hidden = v.Get<int>("Hidden");
            return new LayerSpec(name, ParallelStrategy.TransformerStack, hidden, hidden, v.Get<bool>("Bias"), v.Get<Activation>("Activation"), WeightLayout.InOut)
            {
                Block = new TransformerSpec(v.Get<int>("Heads"), v.Get<int>("KvHeads"), v.Get<int>("FfnHidden"), v.Get<NormKind>("Norm"),
                    v.Get<bool>("Causal"), v.Get<float>("NormEpsilon"))
                {
                    Layers = v.Get<int>("Layers"),
                    Mlp = v.Get<MlpKind>("Mlp"),
                    Rotary = v.Get<bool>("Rotary"),
                    RopeTheta = v.Get<float>("RopeTheta"),
                },
            };
        });

    /// <summary>[FinalNorm(kind)]: In = Out = hidden; the kind and ε in <see cref="LayerSpec.Norm"/>, <see cref="LayerSpec.NormEpsilon"/>.</summary>
    private static readonly AttributeDescription FinalNorm = new("FinalNorm", ParallelStrategy.FinalNorm, "Norm",
        positional: new ArgumentDescription[] { new("Kind", ArgumentType.Enum, enumType: typeof(NormKind)) },
        named: new ArgumentDescription[] { new("Hidden", ArgumentType.Int, 0), new("Epsilon", ArgumentType.Float, 0f) },
        build: (name, v) =>
        {
            int hidden = v.Get<int>("Hidden");
            return new LayerSpec(name, ParallelStrategy.FinalNorm, hidden, hidden, false, Activation.None, WeightLayout.InOut)
            {
                Norm = v.Get<NormKind>("Kind"),
                NormEpsilon = v.Get<float>("Epsilon"),
            };
        });

    /// <summary>[LmHead]: In = hidden, Out = vocab.</summary>
    private static readonly AttributeDescription LmHead = new("LmHead", ParallelStrategy.LmHead, "Linear",
        positional: Array.Empty<ArgumentDescription>(),
        named: new ArgumentDescription[] { new("Vocab", ArgumentType.Int, 0), new("Hidden", ArgumentType.Int, 0) },
        build: (name, v) => Table(name, ParallelStrategy.LmHead, v.Get<int>("Hidden"), v.Get<int>("Vocab")));

    private static LayerSpec Table(string name, ParallelStrategy strategy, int inFeatures, int outFeatures) =>
        new(name, strategy, inFeatures, outFeatures, false, Activation.None, WeightLayout.InOut);

    /// <summary>The layer attributes.</summary>
    public static readonly AttributeDescription[] Layers =
    {
        Linear("ColumnParallel", ParallelStrategy.ColumnParallel),
        Linear("RowParallel", ParallelStrategy.RowParallel),
        Linear("Summa2D", ParallelStrategy.Summa2D),
        Block,
        VocabEmbedding,
        PositionEmbedding,
        Stack,
        FinalNorm,
        LmHead,
    };

    /// <summary>What a layer property type declares, for messages: "a linear layer" for "Linear".</summary>
    public static string LayerNoun(string propertyType) => propertyType switch
    {
        "Linear" => "a linear layer",
        "TransformerBlock" => "a transformer block",
        "TransformerStack" => "a transformer stack",
        "Embedding" => "an embedding",
        "Norm" => "a norm",
        _ => "a " + propertyType,
    };

    /// <summary>The attributes whose property has type <paramref name="propertyType"/>, for messages: "[ColumnParallel], [RowParallel] or [Summa2D]".</summary>
    public static string DeclaringText(string propertyType)
    {
        var names = new List<string>();
        foreach (var attribute in Layers)
            if (attribute.PropertyType == propertyType) names.Add("[" + attribute.ShortName + "]");
        return names.Count == 1 ? names[0] : string.Join(", ", names.GetRange(0, names.Count - 1)) + " or " + names[names.Count - 1];
    }

    /// <summary>The layer attribute declaring <paramref name="strategy"/>.</summary>
    public static AttributeDescription Layer(ParallelStrategy strategy) => Array.Find(Layers, a => a.Strategy == strategy)!;

    /// <summary>The layer attribute a name as written stands for ("ColumnParallel" or "ColumnParallelAttribute"), or null.</summary>
    public static AttributeDescription? LayerNamed(string name)
    {
        foreach (var attribute in Layers)
            if (name == attribute.ShortName || name == attribute.MetadataName) return attribute;
        return null;
    }

    /// <summary>True for an attribute's name without the suffix: "ShardedModel", "ColumnParallel", ….</summary>
    public static bool IsShortName(string name)
    {
        foreach (var attribute in All())
            if (attribute.ShortName == name) return true;
        return false;
    }

    /// <summary>True for "ShardedModel" and "ShardedModelAttribute".</summary>
    public static bool IsModelName(string name) => name == ShardedModel.ShortName || name == ShardedModel.MetadataName;

    /// <summary>
    /// Names a syntactic reading takes to mean <c>ShardGen.{name}</c>: every attribute class, layer property type and
    /// enum an argument is written with. Derived, so a new attribute or enum argument is checked without more code.
    /// </summary>
    public static readonly string[] TypeNames = CollectTypeNames();

    /// <summary>
    /// Short attribute names that must bind to nothing: the compiler tries <c>X</c> before <c>XAttribute</c>, so a type
    /// named <c>ColumnParallel</c> in scope would change what <c>[ColumnParallel]</c> means (a short name that is itself
    /// one of ShardGen's types, <c>TransformerBlock</c>, is in <see cref="TypeNames"/> instead).
    /// </summary>
    public static readonly string[] UnboundNames = CollectUnboundNames();

    private static IEnumerable<AttributeDescription> All()
    {
        yield return ShardedModel;
        foreach (var layer in Layers) yield return layer;
    }

    private static string[] CollectTypeNames()
    {
        var names = new List<string>();
        void Add(string? name)
        {
            if (name is not null && !names.Contains(name)) names.Add(name);
        }
        foreach (var attribute in All()) Add(attribute.MetadataName);
        foreach (var attribute in All()) Add(attribute.PropertyType);
        foreach (var attribute in All())
        {
            foreach (var argument in attribute.Positional) Add(argument.EnumType?.Name);
            foreach (var argument in attribute.Named) Add(argument.EnumType?.Name);
        }
        return names.ToArray();
    }

    private static string[] CollectUnboundNames()
    {
        var names = new List<string>();
        foreach (var attribute in All())
            if (Array.IndexOf(TypeNames, attribute.ShortName) < 0) names.Add(attribute.ShortName);
        return names.ToArray();
    }
}
