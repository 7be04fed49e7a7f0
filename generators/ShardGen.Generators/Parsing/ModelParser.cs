using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ShardGen.Generators.Diagnostics;
using ShardGen.Generators.Models;
using ShardGen.Planning;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// Turns a [ShardedModel] class into a <see cref="ModelSpec"/> and its diagnostics. Symbols and syntax are
/// used here and never leave: the results are plain values. Never throws on broken code: whatever the
/// compiler already reports as an error (unresolved types, missing or non-constant arguments) makes the
/// model incomplete, which means no output and no extra diagnostic.
/// </summary>
internal static class ModelParser
{
    /// <summary>Members ShardGen generates on every model; a user member of the same name would clash.</summary>
    private static readonly string[] ReservedNames =
    {
        "LayerSpecs", "PlanFor", "Plan", "Mesh", "LastForward", "Weights", "Create", "Forward", "Dispose",
        "DeclaredDevices", "SequenceParallel", "_core",
    };

    /// <summary>Members of the generated nested <c>Weights</c> class besides one property per layer.</summary>
    private static readonly string[] ReservedWeightsNames = { "Random" };

    public static ModelParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (context.TargetSymbol is not INamedTypeSymbol type || context.TargetNode is not TypeDeclarationSyntax node)
            return ModelParseResult.Empty;

        // Several [ShardedModel] on the parts of one class are a compiler error (CS0579); the first one alone
        // produces the model, so that no file is generated twice.
        var modelAttribute = FirstModelAttribute(type);
        if (modelAttribute?.ApplicationSyntaxReference is not { } modelAttributeRef
            || modelAttributeRef.SyntaxTree != node.SyntaxTree || !node.Span.Contains(modelAttributeRef.Span))
            return ModelParseResult.Empty;

        var diagnostics = new List<DiagnosticInfo>();
        var classLocation = LocationInfo.From(node.Identifier);
        string displayName = type.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat);

        if (UnsupportedReason(type) is { } reason)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UnsupportedModelType, classLocation, displayName, reason));
            return new ModelParseResult(null, diagnostics.ToEquatableArray());
        }

        bool valid = true;       // false: an error of ours was reported; no output
        bool complete = true;    // false: a layer cannot be read (the compiler reports why); no output, no layer rules

        // The class and every containing type must be partial, in every declaration.
        for (var t = type; t is not null; t = t.ContainingType)
        {
            foreach (var reference in t.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(ct) is TypeDeclarationSyntax declaration
                    && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ModelNotPartial,
                        LocationInfo.From(declaration.Identifier), t.Name, displayName));
                    valid = false;
                }
            }
        }

        // Half-typed code (a missing name, a broken attribute): the compiler reports it; wait for the fix.
        for (var t = type; t is not null; t = t.ContainingType)
            if (string.IsNullOrEmpty(t.Name)) complete = false;
        if (modelAttributeRef.GetSyntax(ct).ContainsDiagnostics) complete = false;

        int devices = 0;
        bool sequenceParallel = false;
        if (modelAttribute.AttributeConstructor is null || modelAttribute.ConstructorArguments.Any(a => a.Kind == TypedConstantKind.Error))
            complete = false;
        foreach (var named in modelAttribute.NamedArguments)
        {
            switch (named.Key)
            {
                case "Devices" when named.Value.Kind == TypedConstantKind.Primitive && named.Value.Value is int d:
                    devices = d;
                    break;
                case "SequenceParallel" when named.Value.Kind == TypedConstantKind.Primitive && named.Value.Value is bool sp:
                    sequenceParallel = sp;
                    break;
                case "Devices":
                case "SequenceParallel":
                    complete = false;
                    break;
            }
        }

        // User members whose names the generated part uses.
        foreach (var member in type.GetMembers())
        {
            if (member.IsImplicitlyDeclared || member is IMethodSymbol { MethodKind: not MethodKind.Ordinary }) continue;
            if (Array.IndexOf(ReservedNames, member.Name) >= 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ReservedMemberName,
                    LocationInfo.From(member.Locations.FirstOrDefault()), member.Name, member.Name, displayName));
                valid = false;
            }
        }

        var compilation = context.SemanticModel.Compilation;
        var linearType = compilation.GetTypeByMetadataName(KnownNames.Linear);
        var blockType = compilation.GetTypeByMetadataName(KnownNames.TransformerBlock);
        var layers = new List<(SortKey Key, LayerSpec Spec, string Modifiers, LocationInfo? Attribute)>();
        foreach (var member in type.GetMembers())
        {
            ct.ThrowIfCancellationRequested();
            var attributes = member.GetAttributes().Where(IsLayerAttribute).ToList();
            if (attributes.Count == 0 || member is not IPropertySymbol property) continue; // elsewhere: CS0592

            var definition = property.PartialDefinitionPart ?? property;
            var declaration = definition.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(ct) as PropertyDeclarationSyntax;
            if (declaration is null || declaration.Identifier.IsMissing || declaration.ContainsDiagnostics
                || attributes.Any(a => a.ApplicationSyntaxReference?.GetSyntax(ct).ContainsDiagnostics != false))
            {
                complete = false;
                continue;
            }
            var propertyLocation = LocationInfo.From(declaration.Identifier);
            var attributeLocation = LocationInfo.From(attributes[0].ApplicationSyntaxReference?.GetSyntax(ct));

            if (attributes.Count > 1)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.MultipleStrategies,
                    LocationInfo.From(attributes[1].ApplicationSyntaxReference?.GetSyntax(ct)),
                    property.Name, ShortName(attributes[0]), ShortName(attributes[1])));
                valid = false;
            }

            string modifiers = string.Join(" ", declaration.Modifiers
                .Where(m => !m.IsKind(SyntaxKind.PartialKeyword) && !m.IsKind(SyntaxKind.StaticKeyword))
                .Select(m => m.Text));
            bool isBlock = StrategyOf(attributes[0]) == ParallelStrategy.TransformerBlock;
            string expected = (modifiers.Length > 0 ? modifiers + " " : "") +
                $"partial {(isBlock ? "TransformerBlock" : "Linear")} {declaration.Identifier.Text} {{ get; }}";

            // The property's shape: a get-only, instance, non-ref property of type ShardGen.Linear
            // (ShardGen.TransformerBlock for [TransformerBlock]).
            if (property.Type.TypeKind == TypeKind.Error || linearType is null || blockType is null)
            {
                complete = false;
            }
            else if (ShapeProblem(property, attributes, linearType, blockType) is { } problem)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.InvalidLayerProperty, propertyLocation,
                    property.Name, problem, expected));
                valid = false;
            }

            if (!definition.IsPartialDefinition)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerNotPartial, propertyLocation, property.Name, expected));
                valid = false;
            }
            else if (definition.PartialImplementationPart is { } implementation)
            {
                var implementationSyntax = implementation.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(ct) as PropertyDeclarationSyntax;
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerAlreadyImplemented,
                    implementationSyntax is null ? propertyLocation : LocationInfo.From(implementationSyntax.Identifier), property.Name));
                valid = false;
            }

            if (Array.IndexOf(ReservedWeightsNames, property.Name) >= 0)
            {
                diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.ReservedMemberName, propertyLocation,
                    property.Name, "Weights." + property.Name, displayName));
                valid = false;
            }

            switch (ReadLayer(attributes[0], property.Name))
            {
                case (null, null):
                    complete = false;
                    break;
                case (_, { } undefined):
                    diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.UndefinedEnumValue, attributeLocation,
                        property.Name, undefined.Property, undefined.Value, undefined.Enum));
                    valid = false;
                    complete = false; // the layer is unknown: checking the others' chaining would mislead
                    break;
                case ({ } spec, null):
                    layers.Add((SortKeyOf(type, declaration), spec, modifiers, attributeLocation));
                    break;
            }
        }

        if (!complete) return new ModelParseResult(null, diagnostics.ToEquatableArray());

        // SHARD019: sequence parallelism shards the residual stream of transformer blocks; without one it does nothing.
        if (sequenceParallel && !layers.Any(l => l.Spec.Strategy == ParallelStrategy.TransformerBlock))
        {
            var attributeSyntax = modelAttributeRef.GetSyntax(ct) as AttributeSyntax;
            var argument = attributeSyntax?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == "SequenceParallel");
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.SequenceParallelWithoutBlocks,
                LocationInfo.From((SyntaxNode?)argument ?? attributeSyntax) ?? classLocation, displayName));
        }

        // Layers run in declaration order: by the class declaration they are in, then by position.
        layers.Sort((a, b) => a.Key.CompareTo(b.Key));
        var specs = layers.Select(l => l.Spec).ToArray();

        var problems = ShardRules.CheckStructure(type.Name, specs);
        if (problems.Count == 0 && devices != 0) problems = ShardRules.CheckDevices(type.Name, specs, devices);
        foreach (var problem in problems)
        {
            var descriptor = DiagnosticDescriptors.Find(problem.Id);
            if (descriptor is null) continue;
            var location = problem.LayerIndex >= 0 && problem.LayerIndex < layers.Count ? layers[problem.LayerIndex].Attribute : classLocation;
            var additional = problem.OtherLayerIndex >= 0 && problem.OtherLayerIndex < layers.Count
                && layers[problem.OtherLayerIndex].Attribute is { } other
                ? new EquatableArray<LocationInfo>(new[] { other })
                : EquatableArray<LocationInfo>.Empty;
            diagnostics.Add(new DiagnosticInfo(descriptor.Id, location, new EquatableArray<string>(new[] { problem.Message }), additional));
            valid = false;
        }

        var model = valid
            ? new ModelSpec(HierarchyInfo.From(type), devices,
                layers.Select(l => new LayerModel(l.Spec, l.Modifiers)).ToEquatableArray(), sequenceParallel)
            : null;
        return new ModelParseResult(model, diagnostics.ToEquatableArray());
    }

    /// <summary>SHARD004: a layer attribute on a member of a type without [ShardedModel].</summary>
    public static EquatableArray<DiagnosticInfo> ParseOrphanLayer(GeneratorAttributeSyntaxContext context, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var containing = context.TargetSymbol.ContainingType;
        if (containing is not null && FirstModelAttribute(containing) is not null)
            return EquatableArray<DiagnosticInfo>.Empty;
        string owner = containing?.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat) ?? "its containing type";
        var diagnostics = new List<DiagnosticInfo>();
        foreach (var attribute in context.Attributes)
        {
            diagnostics.Add(DiagnosticInfo.Create(DiagnosticDescriptors.LayerOutsideModel,
                LocationInfo.From(attribute.ApplicationSyntaxReference?.GetSyntax(ct)) ?? LocationInfo.From(context.TargetNode),
                ShortName(attribute), context.TargetSymbol.Name, owner));
        }
        return diagnostics.ToEquatableArray();
    }

    private static AttributeData? FirstModelAttribute(INamedTypeSymbol type) =>
        type.GetAttributes().FirstOrDefault(a => HasMetadataName(a.AttributeClass, KnownNames.ShardedModelAttribute));

    private static bool IsLayerAttribute(AttributeData attribute) =>
        StrategyOf(attribute) is not null;

    private static ParallelStrategy? StrategyOf(AttributeData attribute) =>
        HasMetadataName(attribute.AttributeClass, KnownNames.ColumnParallelAttribute) ? ParallelStrategy.ColumnParallel
        : HasMetadataName(attribute.AttributeClass, KnownNames.RowParallelAttribute) ? ParallelStrategy.RowParallel
        : HasMetadataName(attribute.AttributeClass, KnownNames.Summa2DAttribute) ? ParallelStrategy.Summa2D
        : HasMetadataName(attribute.AttributeClass, KnownNames.TransformerBlockAttribute) ? ParallelStrategy.TransformerBlock
        : null;

    /// <summary>Compares a type's full metadata name without building strings for unrelated types.</summary>
    private static bool HasMetadataName(INamedTypeSymbol? type, string metadataName)
    {
        if (type is null || type.TypeKind == TypeKind.Error || type.ContainingType is not null) return false;
        int dot = metadataName.LastIndexOf('.');
        return type.MetadataName == metadataName.Substring(dot + 1)
            && type.ContainingNamespace?.ToDisplayString() == metadataName.Substring(0, dot);
    }

    private static string ShortName(AttributeData attribute)
    {
        string name = attribute.AttributeClass?.Name ?? "?";
        return name.EndsWith("Attribute", StringComparison.Ordinal) ? name.Substring(0, name.Length - "Attribute".Length) : name;
    }

    private static string? UnsupportedReason(INamedTypeSymbol type)
    {
        if (type.IsRecord) return "records are not supported; declare a partial class";
        if (type.TypeKind != TypeKind.Class) return "only classes can be sharded models";
        if (type.IsStatic) return "it is static; a sharded model is an instance that owns device memory";
        if (type.IsAbstract) return "it is abstract; the generated Create must instantiate it";
        if (type.IsFileLocal) return "file-local types cannot have a generated part in another file";
        for (var t = type; t is not null; t = t.ContainingType)
            if (t.IsGenericType)
                return t.Equals(type, SymbolEqualityComparer.Default)
                    ? "generic models are not supported"
                    : $"it is nested in the generic type '{t.Name}'; generic containing types are not supported";
        return null;
    }

    /// <summary>
    /// What is wrong with a layer property's shape, or null. Its type must be the one its attribute declares
    /// (any of them when there are several: SHARD005 already reports that).
    /// </summary>
    private static string? ShapeProblem(IPropertySymbol property, List<AttributeData> attributes, INamedTypeSymbol linearType, INamedTypeSymbol blockType)
    {
        bool isBlock = StrategyOf(attributes[0]) == ParallelStrategy.TransformerBlock;
        bool typeFits = attributes.Any(a => SymbolEqualityComparer.Default.Equals(property.Type,
            StrategyOf(a) == ParallelStrategy.TransformerBlock ? blockType : linearType));
        if (!typeFits)
        {
            string actual = property.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
            string hint = SymbolEqualityComparer.Default.Equals(property.Type, blockType)
                ? $"; [{ShortName(attributes[0])}] declares a linear layer, [TransformerBlock] a transformer block"
                : SymbolEqualityComparer.Default.Equals(property.Type, linearType)
                    ? "; [TransformerBlock] declares a transformer block, [ColumnParallel], [RowParallel] or [Summa2D] a linear layer"
                    : "";
            return $"has type '{actual}', not {(isBlock ? KnownNames.TransformerBlock : KnownNames.Linear)}{hint}";
        }
        if (property.IsStatic) return "is static";
        if (property.IsIndexer) return "is an indexer";
        if (property.ReturnsByRef || property.ReturnsByRefReadonly) return "returns by reference";
        if (property.SetMethod is not null) return "has a setter";
        if (property.ExplicitInterfaceImplementations.Length > 0) return "is an explicit interface implementation";
        return null;
    }

    /// <summary>
    /// The layer an attribute declares; (null, null) when its arguments are missing or not constants (the
    /// compiler reports those), or an undefined enum value as (null, (property, value, enum)).
    /// </summary>
    private static (LayerSpec? Spec, (string Property, string Value, string Enum)? Undefined) ReadLayer(AttributeData attribute, string name)
    {
        if (StrategyOf(attribute) == ParallelStrategy.TransformerBlock) return ReadBlock(attribute, name);
        if (StrategyOf(attribute) is not { } strategy || attribute.AttributeConstructor is null
            || attribute.ConstructorArguments.Length != 2
            || attribute.ConstructorArguments[0].Value is not int inFeatures
            || attribute.ConstructorArguments[1].Value is not int outFeatures)
            return (null, null);

        bool bias = true;
        var activation = Activation.None;
        var weightLayout = WeightLayout.InOut;
        foreach (var named in attribute.NamedArguments)
        {
            var value = named.Value;
            if (value.Kind == TypedConstantKind.Error) return (null, null);
            switch (named.Key)
            {
                case "Bias" when value.Value is bool b:
                    bias = b;
                    break;
                case "Activation" when value.Value is int a:
                    if (!Enum.IsDefined(typeof(Activation), a)) return (null, ("Activation", Invariant(a), "Activation"));
                    activation = (Activation)a;
                    break;
                case "WeightLayout" when value.Value is int w:
                    if (!Enum.IsDefined(typeof(WeightLayout), w)) return (null, ("WeightLayout", Invariant(w), "WeightLayout"));
                    weightLayout = (WeightLayout)w;
                    break;
                default:
                    return (null, null);
            }
        }
        return (new LayerSpec(name, strategy, inFeatures, outFeatures, bias, activation, weightLayout), null);
    }

    /// <summary>
    /// A [TransformerBlock(hidden, heads)] with the attribute's defaults resolved (KvHeads 0 → heads,
    /// FfnHidden 0 → 4·hidden), so the emitted LayerSpecs state the real shape. Same contract as <see cref="ReadLayer"/>.
    /// </summary>
    private static (LayerSpec? Spec, (string Property, string Value, string Enum)? Undefined) ReadBlock(AttributeData attribute, string name)
    {
        if (attribute.AttributeConstructor is null
            || attribute.ConstructorArguments.Length != 2
            || attribute.ConstructorArguments[0].Value is not int hidden
            || attribute.ConstructorArguments[1].Value is not int heads)
            return (null, null);

        int kvHeads = 0, ffnHidden = 0;
        var norm = NormKind.LayerNorm;
        bool causal = true, bias = true;
        var activation = Activation.Gelu;
        float epsilon = 1e-5f;
        foreach (var named in attribute.NamedArguments)
        {
            var value = named.Value;
            if (value.Kind == TypedConstantKind.Error) return (null, null);
            switch (named.Key)
            {
                case "KvHeads" when value.Value is int kv:
                    kvHeads = kv;
                    break;
                case "FfnHidden" when value.Value is int ffn:
                    ffnHidden = ffn;
                    break;
                case "Norm" when value.Value is int n:
                    if (!Enum.IsDefined(typeof(NormKind), n)) return (null, ("Norm", Invariant(n), "NormKind"));
                    norm = (NormKind)n;
                    break;
                case "Causal" when value.Value is bool c:
                    causal = c;
                    break;
                case "Activation" when value.Value is int a:
                    if (!Enum.IsDefined(typeof(Activation), a)) return (null, ("Activation", Invariant(a), "Activation"));
                    activation = (Activation)a;
                    break;
                case "Bias" when value.Value is bool b:
                    bias = b;
                    break;
                case "NormEpsilon" when value.Value is float e:
                    epsilon = e;
                    break;
                default:
                    return (null, null);
            }
        }
        if (kvHeads == 0) kvHeads = heads;
        // 4·hidden past int.MaxValue would wrap around; say "not positive" instead (SHARD017) of planning nonsense.
        if (ffnHidden == 0) ffnHidden = hidden > int.MaxValue / 4 ? -1 : 4 * hidden;
        return (new LayerSpec(name, ParallelStrategy.TransformerBlock, hidden, hidden, bias, activation, WeightLayout.InOut)
        {
            Block = new TransformerSpec(heads, kvHeads, ffnHidden, norm, causal, epsilon),
        }, null);
    }

    private static string Invariant(int value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Declaration order: which declaration of the class (in the compiler's order), then position.</summary>
    private readonly struct SortKey : IComparable<SortKey>
    {
        public SortKey(int part, int position) { Part = part; Position = position; }
        public int Part { get; }
        public int Position { get; }
        public int CompareTo(SortKey other) => Part != other.Part ? Part.CompareTo(other.Part) : Position.CompareTo(other.Position);
    }

    private static SortKey SortKeyOf(INamedTypeSymbol type, SyntaxNode declaration)
    {
        var parts = type.DeclaringSyntaxReferences;
        for (int i = 0; i < parts.Length; i++)
            if (parts[i].SyntaxTree == declaration.SyntaxTree && parts[i].Span.Contains(declaration.Span))
                return new SortKey(i, declaration.SpanStart);
        return new SortKey(int.MaxValue, declaration.SpanStart);
    }
}
