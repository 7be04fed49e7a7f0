using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using ShardGen.Generators.Diagnostics;
using ShardGen.Generators.Emitting;
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
    /// <summary>
    /// Parses the class declared at <paramref name="span"/> of the file <paramref name="path"/>: the candidates
    /// the syntactic reader could not settle alone. Empty when no [ShardedModel] of ShardGen's is on it.
    /// </summary>
    public static ModelParseResult ParseAt(string path, TextSpan span, Compilation compilation, CancellationToken ct) =>
        DeclarationAt(path, span, compilation, ct) is var (node, type) ? Parse(node, type, compilation, ct) : ModelParseResult.Empty;

    /// <summary>The type declared at <paramref name="span"/> of the file <paramref name="path"/>, found again in <paramref name="compilation"/>.</summary>
    internal static (TypeDeclarationSyntax Node, INamedTypeSymbol Type)? DeclarationAt(string path, TextSpan span, Compilation compilation, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        foreach (var tree in compilation.SyntaxTrees)
        {
            if (tree.FilePath != path || span.End > tree.Length) continue;
            for (SyntaxNode? n = tree.GetRoot(ct).FindNode(span, getInnermostNodeForTie: true); n is not null && n.Span == span; n = n.Parent)
            {
                if (n is TypeDeclarationSyntax node
                    && compilation.GetSemanticModel(tree).GetDeclaredSymbol(node, ct) is INamedTypeSymbol type)
                    return (node, type);
            }
        }
        return null;
    }

    private static ModelParseResult Parse(TypeDeclarationSyntax node, INamedTypeSymbol type, Compilation compilation, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();

        // Several [ShardedModel] on the parts of one class are a compiler error (CS0579); the first one alone
        // produces the model, so that no file is generated twice.
        var modelAttribute = KnownNames.ShardedModelAttributeOf(type);
        if (modelAttribute?.ApplicationSyntaxReference is not { } modelAttributeRef
            || modelAttributeRef.SyntaxTree != node.SyntaxTree || !node.Span.Contains(modelAttributeRef.Span))
            return modelAttribute is null ? ShadowedModelAttribute(node, type) : ModelParseResult.Empty;

        // Runs for every model on every compilation change: locations, display names and messages are only
        // computed when there is a diagnostic to report (most runs have none).
        List<DiagnosticInfo>? diagnostics = null;
        void Report(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] messageArgs) =>
            (diagnostics ??= new List<DiagnosticInfo>()).Add(DiagnosticInfo.Create(descriptor, location, messageArgs));
        ModelParseResult Result(ModelSpec? model) =>
            new(model, diagnostics is null ? EquatableArray<DiagnosticInfo>.Empty : diagnostics.ToEquatableArray());

        if (UnsupportedReason(type) is { } reason)
        {
            Report(DiagnosticDescriptors.UnsupportedModelType, LocationInfo.From(node.Identifier), DisplayName(type), reason);
            return Result(null);
        }

        // A member cannot have its class's name (CS0542 in the generated file): the class must be renamed.
        if (GeneratedMembers.Contains(type.Name))
        {
            Report(DiagnosticDescriptors.ModelNamedLikeMember, LocationInfo.From(node.Identifier), DisplayName(type), type.Name);
            return Result(null);
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
                    Report(DiagnosticDescriptors.ModelNotPartial, LocationInfo.From(declaration.Identifier), t.Name, DisplayName(type));
                    valid = false;
                }
            }
        }

        // Half-typed code (a missing name, a broken attribute): the compiler reports it; wait for the fix.
        for (var t = type; t is not null; t = t.ContainingType)
            if (string.IsNullOrEmpty(t.Name)) complete = false;
        for (var ns = type.ContainingNamespace; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
            if (string.IsNullOrEmpty(ns.Name)) complete = false; // "namespace ;"
        if (modelAttributeRef.GetSyntax(ct).ContainsDiagnostics || HasBindingErrors(AttributeTable.ShardedModel, modelAttributeRef, compilation, ct)) complete = false;
        if (complete && HeaderHasErrors(type, compilation, ct)) complete = false;

        if (modelAttribute.AttributeConstructor is null) complete = false;
        foreach (var argument in modelAttribute.ConstructorArguments)
            if (argument.Kind == TypedConstantKind.Error) complete = false;
        // Arguments it does not know are the compiler's errors; those it knows must be constants of their type.
        var modelArguments = new List<KeyValuePair<string, object?>>();
        foreach (var named in modelAttribute.NamedArguments)
            if (AttributeTable.ShardedModel.FindNamed(named.Key) is not null)
                modelArguments.Add(new KeyValuePair<string, object?>(named.Key, named.Value.Kind == TypedConstantKind.Primitive ? named.Value.Value : null));
        var modelValues = AttributeTable.ShardedModel.Read(Array.Empty<object?>(), modelArguments).Values;
        if (modelValues is null) complete = false;
        int devices = modelValues?.Get<int>("Devices") ?? 0;
        bool sequenceParallel = modelValues?.Get<bool>("SequenceParallel") ?? false;

        // User members whose names the generated part uses.
        var members = type.GetMembers();
        foreach (var member in members)
        {
            if (member.IsImplicitlyDeclared || member is IMethodSymbol { MethodKind: not MethodKind.Ordinary }) continue;
            if (GeneratedMembers.Contains(member.Name))
            {
                Report(DiagnosticDescriptors.ReservedMemberName, LocationInfo.From(member.Locations.FirstOrDefault()),
                    member.Name, member.Name, DisplayName(type));
                valid = false;
            }
        }

        var layerTypes = new LayerTypes(compilation);
        var layers = new List<((int Part, int Position) Key, LayerModel Layer, SyntaxReference? Attribute)>();
        // Names declared twice: the compiler's CS0102 in the user's file; a layer among them is not generated.
        var seenNames = new HashSet<string>(StringComparer.Ordinal);
        var repeatedNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in members)
            if (!member.IsImplicitlyDeclared && member is not IMethodSymbol && !seenNames.Add(member.Name)) repeatedNames.Add(member.Name);
        var attributes = new List<(AttributeData Data, ParallelStrategy Strategy)>(2);
        foreach (var member in members)
        {
            ct.ThrowIfCancellationRequested();
            if (member is not IPropertySymbol property) continue; // layer attributes elsewhere: CS0592
            attributes.Clear();
            foreach (var attribute in property.GetAttributes())
            {
                if (KnownNames.StrategyOf(attribute) is { } s)
                {
                    attributes.Add((attribute, s));
                }
                else if (KnownNames.ShadowedAttributeName(attribute.AttributeClass) is { } shadowed)
                {
                    // A user type named like ShardGen's attribute wins the lookup: the layer would vanish silently.
                    Report(DiagnosticDescriptors.ShadowedAttribute, LocationInfo.From(attribute.ApplicationSyntaxReference),
                        shadowed, property.Name, attribute.AttributeClass!.ToDisplayString(), KnownNames.Namespace + "." + shadowed + "Attribute");
                    valid = false;
                }
            }
            if (attributes.Count == 0) continue;

            var definition = property.PartialDefinitionPart ?? property;
            if (property.IsIndexer)
            {
                // An indexer has no name to give the layer: report it rather than leave the layer out.
                var indexer = definition.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(ct) as IndexerDeclarationSyntax;
                string name = "this[" + string.Join(", ", property.Parameters.Select(p => p.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat))) + "]";
                Report(DiagnosticDescriptors.InvalidLayerProperty, indexer is null ? LocationInfo.From(property.Locations.FirstOrDefault()) : LocationInfo.From(indexer.ThisKeyword),
                    name, "is an indexer", Expected(indexer is null ? "" : ModifiersOf(indexer), attributes[0].Strategy, "Name"));
                valid = false;
                continue;
            }
            var declaration = definition.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(ct) as PropertyDeclarationSyntax;
            if (declaration is null || declaration.Identifier.IsMissing || declaration.ContainsDiagnostics
                || AnyAttributeSyntaxHasDiagnostics(attributes, ct)
                || HasBindingErrors(AttributeTable.Layer(attributes[0].Strategy), attributes[0].Data.ApplicationSyntaxReference, compilation, ct))
            {
                complete = false;
                continue;
            }
            var attributeReference = attributes[0].Data.ApplicationSyntaxReference;
            var strategy = attributes[0].Strategy;
            string modifiers = ModifiersOf(declaration);
            if (repeatedNames.Contains(property.Name)) complete = false;

            if (attributes.Count > 1)
            {
                Report(DiagnosticDescriptors.MultipleStrategies, LocationInfo.From(attributes[1].Data.ApplicationSyntaxReference),
                    property.Name, KnownNames.ShortName(attributes[0].Strategy), KnownNames.ShortName(attributes[1].Strategy));
                valid = false;
            }

            // The property's shape: a get-only, instance, non-ref property of the type its attribute declares
            // (ShardGen.Linear for [ColumnParallel], ShardGen.TransformerBlock for [TransformerBlock], …).
            if (property.Type.TypeKind == TypeKind.Error || !layerTypes.AllResolved(attributes))
            {
                complete = false;
            }
            else if ((ShapeProblem(property, attributes, layerTypes) ?? ModifierProblem(declaration)) is { } problem)
            {
                Report(DiagnosticDescriptors.InvalidLayerProperty, LocationInfo.From(declaration.Identifier),
                    property.Name, problem, Expected(modifiers, strategy, declaration.Identifier.Text));
                valid = false;
            }

            if (!definition.IsPartialDefinition)
            {
                Report(DiagnosticDescriptors.LayerNotPartial, LocationInfo.From(declaration.Identifier),
                    property.Name, Expected(modifiers, strategy, declaration.Identifier.Text));
                valid = false;
            }
            else if (definition.PartialImplementationPart is { } implementation)
            {
                var implementationSyntax = implementation.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(ct) as PropertyDeclarationSyntax;
                Report(DiagnosticDescriptors.LayerAlreadyImplemented,
                    LocationInfo.From((implementationSyntax ?? declaration).Identifier), property.Name);
                valid = false;
            }

            if (Array.IndexOf(GeneratedMembers.WeightsNames, property.Name) >= 0)
            {
                Report(DiagnosticDescriptors.ReservedMemberName, LocationInfo.From(declaration.Identifier),
                    property.Name, "Weights." + property.Name, DisplayName(type));
                valid = false;
            }

            switch (ReadLayer(attributes[0].Data, attributes[0].Strategy, property.Name))
            {
                case (null, null):
                    complete = false;
                    break;
                case (_, { } undefined):
                    Report(DiagnosticDescriptors.UndefinedEnumValue, LocationInfo.From(attributeReference),
                        property.Name, undefined.Argument, undefined.Value, undefined.Enum);
                    valid = false;
                    complete = false; // the layer is unknown: checking the others' chaining would mislead
                    break;
                case ({ } spec, null):
                    layers.Add((SortKeyOf(type, declaration), new LayerModel(spec, modifiers), attributeReference));
                    break;
            }
        }

        if (ReportTargetedLayerAttributes(type, compilation, Report, ct)) valid = false;

        if (!complete) return Result(null);

        // Layers run in declaration order: by the class declaration they are in, then by position.
        layers.Sort((a, b) => a.Key.CompareTo(b.Key));
        var read = new LayerModel[layers.Count];
        for (int i = 0; i < read.Length; i++) read[i] = layers[i].Layer;
        var facts = new ModelAssembler.ModelFacts
        {
            Name = type.Name,
            Devices = devices,
            SequenceParallel = sequenceParallel,
            DisplayName = () => DisplayName(type),
            IdentifierLocation = () => LocationInfo.From(node.Identifier),
            SequenceParallelLocation = () =>
            {
                var attributeSyntax = modelAttributeRef.GetSyntax(ct) as AttributeSyntax;
                return LocationInfo.From((SyntaxNode?)SyntacticModelReader.NamedArgument(attributeSyntax, "SequenceParallel") ?? attributeSyntax);
            },
            Hierarchy = () => HierarchyInfo.From(type),
        };
        return ModelAssembler.Assemble(facts, read, i => LocationInfo.From(layers[i].Attribute), diagnostics, valid);
    }

    internal static string DisplayName(INamedTypeSymbol type) => type.ToDisplayString(SymbolDisplayFormat.CSharpErrorMessageFormat);

    private static bool AnyAttributeSyntaxHasDiagnostics(List<(AttributeData Data, ParallelStrategy Strategy)> attributes, CancellationToken ct)
    {
        foreach (var (data, _) in attributes)
            if (data.ApplicationSyntaxReference?.GetSyntax(ct).ContainsDiagnostics != false) return true;
        return false;
    }

    /// <summary>
    /// True when the compiler reports an error inside an attribute's arguments. Some leave a constant behind as if all
    /// were well (<c>KvHeads = 1e-6f</c>, CS0266, binds as KvHeads = 0, "read from config.json"): the model waits for the fix.
    /// Arguments written as literals of their type (almost all) cannot have such an error, so only the others are bound.
    /// </summary>
    private static bool HasBindingErrors(AttributeDescription description, SyntaxReference? attribute, Compilation compilation, CancellationToken ct)
    {
        if (attribute?.GetSyntax(ct) is not AttributeSyntax { ArgumentList: { Arguments.Count: > 0 } list }) return false;
        bool plain = true;
        for (int i = 0; i < list.Arguments.Count && plain; i++)
        {
            var argument = list.Arguments[i];
            var expected = argument.NameEquals is { } name ? description.FindNamed(name.Name.Identifier.ValueText)
                : argument.NameColon is null && i < description.Positional.Length ? description.Positional[i] : null;
            plain = expected is not null && SyntacticModelReader.Literal(expected, argument.Expression) is not null;
        }
        if (plain) return false;
        foreach (var diagnostic in compilation.GetSemanticModel(attribute.SyntaxTree).GetDeclarationDiagnostics(list.Span, ct))
            if (diagnostic.Severity == DiagnosticSeverity.Error) return true;
        return false;
    }

    /// <summary>The declaration's modifiers the implementing part repeats (all but <c>partial</c> and <c>static</c>), e.g. "public".</summary>
    internal static string ModifiersOf(BasePropertyDeclarationSyntax declaration)
    {
        var modifiers = declaration.Modifiers;
        if (modifiers.Count == 1 && !modifiers[0].IsKind(SyntaxKind.PartialKeyword) && !modifiers[0].IsKind(SyntaxKind.StaticKeyword))
            return modifiers[0].Text;
        string result = "";
        foreach (var m in modifiers)
        {
            if (m.IsKind(SyntaxKind.PartialKeyword) || m.IsKind(SyntaxKind.StaticKeyword)) continue;
            result = result.Length == 0 ? m.Text : result + " " + m.Text;
        }
        return result;
    }

    /// <summary>The declaration a layer should have, for messages: "public partial Linear Up { get; }".</summary>
    private static string Expected(string modifiers, ParallelStrategy strategy, string name) =>
        (modifiers.Length > 0 ? modifiers + " " : "") +
        $"partial {AttributeTable.Layer(strategy).PropertyType} {name} {{ get; }}";

    /// <summary>
    /// SHARD023 for a class whose <c>[ShardedModel]</c> binds to a user type of that name: ShardGen sees no model,
    /// so without this the class would silently get nothing.
    /// </summary>
    private static ModelParseResult ShadowedModelAttribute(TypeDeclarationSyntax node, INamedTypeSymbol type)
    {
        List<DiagnosticInfo>? diagnostics = null;
        foreach (var attribute in type.GetAttributes())
        {
            if (KnownNames.ShadowedAttributeName(attribute.AttributeClass) != "ShardedModel"
                || attribute.ApplicationSyntaxReference is not { } reference
                || reference.SyntaxTree != node.SyntaxTree || !node.Span.Contains(reference.Span)) continue;
            (diagnostics ??= new List<DiagnosticInfo>()).Add(DiagnosticInfo.Create(DiagnosticDescriptors.ShadowedAttribute,
                LocationInfo.From(reference), "ShardedModel", DisplayName(type), attribute.AttributeClass!.ToDisplayString(),
                KnownNames.Namespace + "." + KnownNames.ShardedModelAttributeName));
        }
        return diagnostics is null ? ModelParseResult.Empty : new ModelParseResult(null, diagnostics.ToEquatableArray());
    }

    /// <summary>
    /// SHARD022 for a layer attribute written with a target other than <c>property:</c> (<c>[field: ColumnParallel(…)]</c>):
    /// the compiler applies it elsewhere or drops it (CS0657, a warning), so the layer would be left out. Such
    /// attributes are not among the property's attributes; they are found in syntax, and bound only when present.
    /// </summary>
    private static bool ReportTargetedLayerAttributes(INamedTypeSymbol type, Compilation compilation,
        Action<DiagnosticDescriptor, LocationInfo?, string[]> report, CancellationToken ct)
    {
        bool found = false;
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(ct) is not TypeDeclarationSyntax declaration) continue;
            SemanticModel? semanticModel = null;
            foreach (var member in declaration.Members)
            {
                if (member is not BasePropertyDeclarationSyntax property) continue;
                foreach (var list in property.AttributeLists)
                {
                    if (list.Target is not { } target || target.Identifier.IsKind(SyntaxKind.PropertyKeyword)) continue;
                    foreach (var attribute in list.Attributes)
                    {
                        semanticModel ??= compilation.GetSemanticModel(declaration.SyntaxTree);
                        var info = semanticModel.GetSymbolInfo(attribute, ct);
                        var constructor = info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
                        if (constructor?.ContainingType is not { } attributeType || KnownNames.StrategyOf(attributeType) is not { } strategy) continue;
                        string name = property is PropertyDeclarationSyntax p ? p.Identifier.ValueText : "this[]";
                        report(DiagnosticDescriptors.LayerAttributeTargeted, LocationInfo.From(attribute),
                            new[] { KnownNames.ShortName(strategy), name, target.Identifier.ValueText });
                        found = true;
                    }
                }
            }
        }
        return found;
    }

    /// <summary>
    /// True when the compiler reports an error on the header of the model or a type it is nested in (a top-level
    /// <c>private class Outer</c>, conflicting modifiers): the generated part would reopen that type and repeat
    /// the error's consequences in generated code. Only the headers' spans are checked.
    /// </summary>
    private static bool HeaderHasErrors(INamedTypeSymbol type, Compilation compilation, CancellationToken ct)
    {
        for (var t = type; t is not null; t = t.ContainingType)
        {
            foreach (var reference in t.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(ct) is not TypeDeclarationSyntax declaration) continue;
                int start = declaration.Modifiers.Count > 0 ? declaration.Modifiers.Span.Start : declaration.Keyword.SpanStart;
                var header = TextSpan.FromBounds(start, declaration.Identifier.Span.End);
                foreach (var diagnostic in compilation.GetSemanticModel(declaration.SyntaxTree).GetDeclarationDiagnostics(header, ct))
                    if (diagnostic.Severity == DiagnosticSeverity.Error) return true;
            }
        }
        return false;
    }

    /// <summary>
    /// A modifier the generated implementation could not repeat (<c>abstract</c>, <c>virtual</c>, <c>new</c>, …), or
    /// null: a layer has an access modifier at most (and <c>static</c>, reported on its own).
    /// </summary>
    private static string? ModifierProblem(PropertyDeclarationSyntax declaration)
    {
        foreach (var modifier in declaration.Modifiers)
        {
            switch (modifier.Kind())
            {
                case SyntaxKind.PartialKeyword or SyntaxKind.StaticKeyword or SyntaxKind.PublicKeyword or SyntaxKind.InternalKeyword
                    or SyntaxKind.ProtectedKeyword or SyntaxKind.PrivateKeyword:
                    continue;
                default:
                    return $"is declared '{modifier.Text}'";
            }
        }
        return null;
    }

    private static string? UnsupportedReason(INamedTypeSymbol type)
    {
        if (type.IsRecord) return "records are not supported; declare a partial class";
        if (type.TypeKind != TypeKind.Class) return "only classes can be sharded models";
        if (type.IsStatic) return "it is static; a sharded model is an instance that owns device memory";
        if (type.IsAbstract) return "it is abstract; the generated Create must instantiate it";
        for (var t = type; t is not null; t = t.ContainingType)
            if (t.IsFileLocal)
                return t.Equals(type, SymbolEqualityComparer.Default)
                    ? "file-local types cannot have a generated part in another file; remove 'file'"
                    : $"it is nested in the file-local type '{t.Name}', which cannot have a generated part in another file; remove 'file' from '{t.Name}'";
        // The generated code declares its locals with 'var'.
        for (var t = type; t is not null; t = t.ContainingType)
            if (t.Name == "var" || !t.GetTypeMembers("var").IsEmpty)
                return "a type named 'var' there would change what 'var' means in the generated code; rename it";
        for (var t = type; t is not null; t = t.BaseType)
            foreach (var member in t.GetMembers())
                if (member is IPropertySymbol { IsRequired: true } or IFieldSymbol { IsRequired: true })
                    return $"its member '{member.Name}' is required, which the generated Create cannot set; remove 'required'";
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
    private static string? ShapeProblem(IPropertySymbol property, List<(AttributeData Data, ParallelStrategy Strategy)> attributes,
        LayerTypes layerTypes)
    {
        bool typeFits = false;
        foreach (var (_, strategy) in attributes)
            typeFits |= SymbolEqualityComparer.Default.Equals(property.Type, layerTypes.Of(strategy));
        if (!typeFits)
        {
            var first = AttributeTable.Layer(attributes[0].Strategy);
            string actual = property.Type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
            // Another of ShardGen's layer types: say which attributes declare it.
            string hint = layerTypes.PropertyTypeOf(property.Type) is { } other
                ? $"; [{first.ShortName}] declares {AttributeTable.LayerNoun(first.PropertyType!)}, {AttributeTable.DeclaringText(other)} {AttributeTable.LayerNoun(other)}"
                : "";
            return $"has type '{actual}', not {KnownNames.Namespace}.{first.PropertyType}{hint}";
        }
        if (property.IsStatic) return "is static";
        if (property.IsIndexer) return "is an indexer";
        if (property.ReturnsByRef || property.ReturnsByRefReadonly) return "returns by reference";
        if (property.SetMethod is not null) return "has a setter";
        if (property.ExplicitInterfaceImplementations.Length > 0) return "is an explicit interface implementation";
        return null;
    }

    /// <summary>
    /// The layer an attribute declares, read by its <see cref="AttributeTable"/> row from its constant arguments;
    /// (null, null) when they are missing or not constants (the compiler reports those).
    /// </summary>
    private static (LayerSpec? Spec, UndefinedEnumValue? Undefined) ReadLayer(
        AttributeData attribute, ParallelStrategy strategy, string name)
    {
        if (attribute.AttributeConstructor is null) return (null, null);
        var positional = new object?[attribute.ConstructorArguments.Length];
        for (int i = 0; i < positional.Length; i++)
            positional[i] = attribute.ConstructorArguments[i].Kind == TypedConstantKind.Error ? null : attribute.ConstructorArguments[i].Value;
        var named = new KeyValuePair<string, object?>[attribute.NamedArguments.Length];
        for (int i = 0; i < named.Length; i++)
        {
            var argument = attribute.NamedArguments[i];
            if (argument.Value.Kind == TypedConstantKind.Error) return (null, null);
            named[i] = new KeyValuePair<string, object?>(argument.Key, argument.Value.Value); // enums arrive as their int value
        }
        return AttributeTable.Layer(strategy).ReadLayer(name, positional, named);
    }

    /// <summary>ShardGen's layer property types in one compilation, resolved once per parse.</summary>
    private sealed class LayerTypes
    {
        private readonly Compilation _compilation;
        private readonly Dictionary<string, INamedTypeSymbol?> _types = new(StringComparer.Ordinal);

        public LayerTypes(Compilation compilation) => _compilation = compilation;

        /// <summary>The type a property with the attribute of <paramref name="strategy"/> must have; null when it does not resolve.</summary>
        public INamedTypeSymbol? Of(ParallelStrategy strategy) => Named(AttributeTable.Layer(strategy).PropertyType!);

        public bool AllResolved(List<(AttributeData Data, ParallelStrategy Strategy)> attributes)
        {
            foreach (var (_, strategy) in attributes)
                if (Of(strategy) is null) return false;
            return true;
        }

        /// <summary>"Linear" when <paramref name="type"/> is one of ShardGen's layer property types, else null.</summary>
        public string? PropertyTypeOf(ITypeSymbol type)
        {
            foreach (var attribute in AttributeTable.Layers)
                if (SymbolEqualityComparer.Default.Equals(type, Named(attribute.PropertyType!))) return attribute.PropertyType;
            return null;
        }

        private INamedTypeSymbol? Named(string propertyType)
        {
            if (!_types.TryGetValue(propertyType, out var type))
                _types[propertyType] = type = _compilation.GetTypeByMetadataName(KnownNames.Namespace + "." + propertyType);
            return type;
        }
    }

    /// <summary>Declaration order, compared part first: which declaration of the class (in the compiler's order), then position.</summary>
    private static (int Part, int Position) SortKeyOf(INamedTypeSymbol type, SyntaxNode declaration)
    {
        var parts = type.DeclaringSyntaxReferences;
        for (int i = 0; i < parts.Length; i++)
            if (parts[i].SyntaxTree == declaration.SyntaxTree && parts[i].Span.Contains(declaration.Span))
                return (i, declaration.SpanStart);
        return (int.MaxValue, declaration.SpanStart);
    }
}
