using System;
using System.Collections.Generic;
using System.Globalization;
using ShardGen.Planning;

namespace ShardGen.Generators.Parsing;

/// <summary>The constants an attribute argument can hold, as both readers deliver them (an enum as its int value).</summary>
internal enum ArgumentType { Int, Bool, Float, Enum }

/// <summary>One argument of a ShardGen attribute: its name as written, its type and, for a named one, its default.</summary>
internal sealed class ArgumentDescription
{
    public ArgumentDescription(string name, ArgumentType type, object? @default = null, Type? enumType = null)
    {
        Name = name;
        Type = type;
        Default = @default;
        EnumType = enumType;
        EnumMembers = enumType is null ? Array.Empty<string>() : System.Enum.GetNames(enumType);
    }

    public string Name { get; }
    public ArgumentType Type { get; }
    public object? Default { get; }

    /// <summary>The runtime enum of an <see cref="ArgumentType.Enum"/> argument (same name as ShardGen's public one).</summary>
    public Type? EnumType { get; }

    public string[] EnumMembers { get; }

    /// <summary>True when <paramref name="value"/> is a constant of this argument's type (an enum as its int value).</summary>
    public bool Accepts(object? value) => Type switch
    {
        ArgumentType.Int or ArgumentType.Enum => value is int,
        ArgumentType.Bool => value is bool,
        _ => value is float,
    };
}

/// <summary>An enum argument outside its enum (SHARD016): the argument, the value as written, the enum's name.</summary>
internal readonly record struct UndefinedEnumValue(string Argument, string Value, string Enum);

/// <summary>The arguments of one attribute application, defaults filled in and enums converted.</summary>
internal sealed class ArgumentValues
{
    private readonly AttributeDescription _attribute;
    private readonly object?[] _values;

    public ArgumentValues(AttributeDescription attribute, object?[] values)
    {
        _attribute = attribute;
        _values = values;
    }

    public T Get<T>(string name) => (T)_values[_attribute.IndexOf(name)]!;
}

/// <summary>
/// One ShardGen attribute: its name, the type of the property it goes on, its constructor arguments, its named
/// arguments with their defaults, and how its values make a layer. Both readers go through <see cref="Read"/>.
/// </summary>
internal sealed class AttributeDescription
{
    public AttributeDescription(string shortName, ParallelStrategy? strategy, string? propertyType,
        ArgumentDescription[] positional, ArgumentDescription[] named, Func<string, ArgumentValues, LayerSpec>? build = null)
    {
        ShortName = shortName;
        Strategy = strategy;
        PropertyType = propertyType;
        Positional = positional;
        Named = named;
        _build = build;
    }

    private readonly Func<string, ArgumentValues, LayerSpec>? _build;

    /// <summary>The name as written without the suffix: "ColumnParallel".</summary>
    public string ShortName { get; }

    public string MetadataName => ShortName + "Attribute";

    /// <summary>The layer strategy it declares; null for <c>[ShardedModel]</c>.</summary>
    public ParallelStrategy? Strategy { get; }

    /// <summary>The ShardGen type a layer property with this attribute has ("Linear"); null for <c>[ShardedModel]</c>.</summary>
    public string? PropertyType { get; }

    public ArgumentDescription[] Positional { get; }
    public ArgumentDescription[] Named { get; }

    public ArgumentDescription? FindNamed(string name)
    {
        foreach (var argument in Named)
            if (argument.Name == name) return argument;
        return null;
    }

    internal int IndexOf(string name)
    {
        for (int i = 0; i < Positional.Length; i++)
            if (Positional[i].Name == name) return i;
        for (int i = 0; i < Named.Length; i++)
            if (Named[i].Name == name) return Positional.Length + i;
        throw new ArgumentException($"[{ShortName}] has no argument '{name}'", nameof(name));
    }

    /// <summary>
    /// The values of one application; (null, null) when an argument is missing, unknown or of the wrong type (the
    /// compiler reports those), (null, undefined) for the first enum value outside its enum.
    /// </summary>
    public (ArgumentValues? Values, UndefinedEnumValue? Undefined) Read(IReadOnlyList<object?> positional, IReadOnlyList<KeyValuePair<string, object?>> named)
    {
        if (positional.Count != Positional.Length) return (null, null);
        var values = new object?[Positional.Length + Named.Length];
        for (int i = 0; i < Positional.Length; i++)
        {
            if (!Positional[i].Accepts(positional[i])) return (null, null);
            values[i] = positional[i];
        }
        for (int i = 0; i < Named.Length; i++) values[Positional.Length + i] = Named[i].Default;
        foreach (var argument in named)
        {
            int index = Array.FindIndex(Named, d => d.Name == argument.Key);
            if (index < 0 || !Named[index].Accepts(argument.Value)) return (null, null);
            var description = Named[index];
            object? value = argument.Value;
            if (description.EnumType is { } enumType)
            {
                if (!System.Enum.IsDefined(enumType, value!))
                    return (null, new UndefinedEnumValue(description.Name, ((int)value!).ToString(CultureInfo.InvariantCulture), enumType.Name));
                value = System.Enum.ToObject(enumType, value!);
            }
            values[Positional.Length + index] = value;
        }
        return (new ArgumentValues(this, values), null);
    }

    /// <summary>The layer <paramref name="name"/> declares, from its attribute's values (<see cref="Read"/>).</summary>
    public (LayerSpec? Spec, UndefinedEnumValue? Undefined) ReadLayer(string name, IReadOnlyList<object?> positional,
        IReadOnlyList<KeyValuePair<string, object?>> named)
    {
        var (values, undefined) = Read(positional, named);
        return values is null || _build is null ? (null, undefined) : (_build(name, values), null);
    }
}

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

    /// <summary>The layer attributes.</summary>
    public static readonly AttributeDescription[] Layers =
    {
        Linear("ColumnParallel", ParallelStrategy.ColumnParallel),
        Linear("RowParallel", ParallelStrategy.RowParallel),
        Linear("Summa2D", ParallelStrategy.Summa2D),
        Block,
    };

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
            foreach (var argument in attribute.Named)
                Add(argument.EnumType?.Name);
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
