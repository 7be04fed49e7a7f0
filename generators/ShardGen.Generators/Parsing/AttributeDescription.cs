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
            if (Convert(Positional[i], positional[i], out values[i]) is { } undefined) return (null, undefined);
        }
        for (int i = 0; i < Named.Length; i++) values[Positional.Length + i] = Named[i].Default;
        foreach (var argument in named)
        {
            int index = Array.FindIndex(Named, d => d.Name == argument.Key);
            if (index < 0 || !Named[index].Accepts(argument.Value)) return (null, null);
            if (Convert(Named[index], argument.Value, out values[Positional.Length + index]) is { } undefined) return (null, undefined);
        }
        return (new ArgumentValues(this, values), null);
    }

    /// <summary>An accepted constant as the layer reads it (an enum's int as the enum); the problem when the enum lacks it.</summary>
    private static UndefinedEnumValue? Convert(ArgumentDescription description, object? constant, out object? value)
    {
        value = constant;
        if (description.EnumType is not { } enumType) return null;
        if (!System.Enum.IsDefined(enumType, constant!))
            return new UndefinedEnumValue(description.Name, ((int)constant!).ToString(CultureInfo.InvariantCulture), enumType.Name);
        value = System.Enum.ToObject(enumType, constant!);
        return null;
    }

    /// <summary>The layer <paramref name="name"/> declares, from its attribute's values (<see cref="Read"/>).</summary>
    public (LayerSpec? Spec, UndefinedEnumValue? Undefined) ReadLayer(string name, IReadOnlyList<object?> positional,
        IReadOnlyList<KeyValuePair<string, object?>> named)
    {
        var (values, undefined) = Read(positional, named);
        return values is null || _build is null ? (null, undefined) : (_build(name, values), null);
    }
}
