extern alias gen;

using System;
using System.Linq;
using System.Reflection;
using gen::ShardGen.Generators.Parsing;

namespace ShardGen.Generators.Tests;

/// <summary>
/// The generator's one description of ShardGen's attributes (<see cref="AttributeTable"/>) against the runtime's
/// attribute classes, read by reflection: an argument added to an attribute but not to the table fails here.
/// </summary>
public class AttributeTableTests
{
    private static readonly Assembly Runtime = typeof(ShardGen.DeviceMesh).Assembly;

    public static TheoryData<string> Attributes()
    {
        var data = new TheoryData<string>();
        foreach (var attribute in AttributeTable.Layers.Prepend(AttributeTable.ShardedModel)) data.Add(attribute.ShortName);
        return data;
    }

    private static AttributeDescription Described(string shortName) =>
        AttributeTable.Layers.Prepend(AttributeTable.ShardedModel).Single(a => a.ShortName == shortName);

    [Theory]
    [MemberData(nameof(Attributes))]
    public void ConstructorArgumentsMatchTheRuntimeAttribute(string shortName)
    {
        var description = Described(shortName);
        var type = Runtime.GetType("ShardGen." + description.MetadataName, throwOnError: true)!;
        var parameters = type.GetConstructors().Single().GetParameters();
        Assert.Equal(parameters.Select(p => p.Name!.ToLowerInvariant()), description.Positional.Select(a => a.Name.ToLowerInvariant()));
        foreach (var (parameter, argument) in parameters.Zip(description.Positional))
            Assert.Equal(TypeName(parameter.ParameterType), ExpectedTypeName(argument));
    }

    [Theory]
    [MemberData(nameof(Attributes))]
    public void NamedArgumentsMatchTheRuntimeAttributeWithItsDefaults(string shortName)
    {
        var description = Described(shortName);
        var type = Runtime.GetType("ShardGen." + description.MetadataName, throwOnError: true)!;
        var settable = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }).ToArray();
        Assert.Equal(settable.Select(p => p.Name).OrderBy(n => n), description.Named.Select(a => a.Name).OrderBy(n => n));

        // An instance built with arbitrary constructor values holds the runtime's defaults.
        var random = new Random(shortName.Length);
        var parameters = type.GetConstructors().Single().GetParameters();
        var instance = Activator.CreateInstance(type, parameters
            .Select(p => p.ParameterType.IsEnum ? Enum.GetValues(p.ParameterType).GetValue(0)! : random.Next(1, 1000)).ToArray())!;
        foreach (var property in settable)
        {
            var argument = description.FindNamed(property.Name)!;
            Assert.Equal(TypeName(property.PropertyType), ExpectedTypeName(argument));
            object? runtimeDefault = property.GetValue(instance);
            if (argument.Type == ArgumentType.Enum)
            {
                Assert.Equal(runtimeDefault!.ToString(), argument.Default!.ToString());
                Assert.Equal(Convert.ToInt32(runtimeDefault), Convert.ToInt32(argument.Default));
                Assert.Equal(Enum.GetNames(property.PropertyType), argument.EnumMembers);
            }
            else
            {
                Assert.Equal(runtimeDefault, argument.Default);
            }
        }
    }

    [Fact]
    public void NamesTheReaderTakesForGrantedAreShardGenTypesAndShortNamesAreNot()
    {
        foreach (var name in AttributeTable.TypeNames)
            Assert.True(Runtime.GetType("ShardGen." + name) is { IsPublic: true }, $"ShardGen.{name} is not a public runtime type");
        foreach (var name in AttributeTable.UnboundNames)
            Assert.Null(Runtime.GetType("ShardGen." + name));
        // Every enum an argument is written with must be checked to bind: Activation, NormKind, WeightLayout.
        foreach (var argument in AttributeTable.Layers.SelectMany(a => a.Positional.Concat(a.Named)).Where(a => a.Type == ArgumentType.Enum))
            Assert.Contains(argument.EnumType!.Name, AttributeTable.TypeNames);
    }

    [Fact]
    public void ReadRejectsWrongTypesUnknownNamesAndUndefinedEnumValues()
    {
        var block = AttributeTable.Layers.Single(a => a.ShortName == "TransformerBlock");
        Assert.NotNull(block.Read(new object?[] { 64, 4 }, Array.Empty<System.Collections.Generic.KeyValuePair<string, object?>>()).Values);
        Assert.Null(block.Read(new object?[] { 64 }, Array.Empty<System.Collections.Generic.KeyValuePair<string, object?>>()).Values);
        Assert.Null(block.Read(new object?[] { 64, 4 }, new[] { Named("NormEpsilon", 1e-5) }).Values); // a double, not a float
        Assert.Null(block.Read(new object?[] { 64, 4 }, new[] { Named("Heads", 4) }).Values);           // not a named argument
        var (values, undefined) = block.Read(new object?[] { 64, 4 }, new[] { Named("Norm", 99) });
        Assert.Null(values);
        Assert.Equal(("Norm", "99", "NormKind"), (undefined!.Value.Argument, undefined.Value.Value, undefined.Value.Enum));
    }

    [Fact]
    public void APositionalEnumIsConvertedOrReportedLikeANamedOne()
    {
        var finalNorm = AttributeTable.LayerNamed("FinalNorm")!;
        var none = Array.Empty<System.Collections.Generic.KeyValuePair<string, object?>>();
        var (values, undefined) = finalNorm.Read(new object?[] { 1 }, none);
        Assert.Null(undefined);
        Assert.Equal(gen::ShardGen.NormKind.RmsNorm, values!.Get<gen::ShardGen.NormKind>("Kind"));
        (values, undefined) = finalNorm.Read(new object?[] { 7 }, none);
        Assert.Null(values);
        Assert.Equal(("Kind", "7", "NormKind"), (undefined!.Value.Argument, undefined.Value.Value, undefined.Value.Enum));
        Assert.Null(finalNorm.Read(new object?[] { true }, none).Values); // not an enum constant: the compiler's error
    }

    private static System.Collections.Generic.KeyValuePair<string, object?> Named(string key, object? value) => new(key, value);

    private static string TypeName(Type type) => type.IsEnum ? "enum " + type.Name : type.Name;

    private static string ExpectedTypeName(ArgumentDescription argument) => argument.Type switch
    {
        ArgumentType.Int => nameof(Int32),
        ArgumentType.Bool => nameof(Boolean),
        ArgumentType.Float => nameof(Single),
        _ => "enum " + argument.EnumType!.Name,
    };
}
