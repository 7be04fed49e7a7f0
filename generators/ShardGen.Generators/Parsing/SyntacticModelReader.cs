using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ShardGen.Generators.Emitting;
using ShardGen.Generators.Models;
using ShardGen.Planning;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// Reads a class declaration from its syntax alone. It runs only when the file changes, so an edit to one model
/// re-reads one model instead of re-binding all of them as a semantic transform would on every compilation.
/// <para>
/// Only the plain, valid form is read here: a top-level partial class with literal arguments, simple attribute
/// and type names, one declaration, no aliases. Anything else (or anything that would need a diagnostic of the
/// parser's own) returns no <see cref="SyntacticModel"/>, and <see cref="ModelParser"/> reads the class with the
/// compiler's help. What a syntactic reading assumes about names is checked per compilation by <see cref="SyntacticCheck"/>.
/// </para>
/// </summary>
internal static class SyntacticModelReader
{
    public static ModelCandidate? Read(SyntaxNode node, CancellationToken ct)
    {
        if (node is not TypeDeclarationSyntax type || type.AttributeLists.Count == 0) return null;
        ct.ThrowIfCancellationRequested();

        AttributeSyntax? modelAttribute = null;
        int modelAttributes = 0;
        bool targeted = false;
        foreach (var list in type.AttributeLists)
        {
            targeted |= list.Target is not null;
            foreach (var attribute in list.Attributes)
            {
                if (!AttributeTable.IsModelName(RightmostName(attribute.Name))) continue;
                modelAttributes++;
                modelAttribute ??= attribute;
            }
        }

        string path = type.SyntaxTree.FilePath;
        if (modelAttribute is null)
            return new ModelCandidate(path, type.Span, HasAliasInScope(type) ? CandidateKind.MaybeAliased : CandidateKind.Other, null);

        var syntactic = modelAttributes == 1 && !targeted && type is ClassDeclarationSyntax cls && ScopeOf(cls) is { Key: not null } scope
            ? ReadModel(cls, modelAttribute, scope, ct)
            : null;
        return new ModelCandidate(path, type.Span, CandidateKind.Model, syntactic);
    }

    private static SyntacticModel? ReadModel(ClassDeclarationSyntax cls, AttributeSyntax modelAttribute, Scope scope, CancellationToken ct)
    {
        if (cls.Parent is not (BaseNamespaceDeclarationSyntax or CompilationUnitSyntax)) return null; // nested: parser
        if (cls.ContainsDiagnostics || cls.ContainsDirectives) return null;
        if (cls.TypeParameterList is not null || cls.ParameterList is not null || cls.BaseList is not null
            || cls.ConstraintClauses.Count > 0) return null;
        if (!HasOnlyModifiers(cls.Modifiers, allowSealed: true)) return null;
        if (!IsPlainName(cls.Identifier) || IsReservedOrKnown(cls.Identifier.ValueText)) return null; // SHARD021 etc.: the parser reports
        if (!IsSimpleName(modelAttribute.Name)) return null;

        // [ShardedModel(Devices = n, SequenceParallel = b)]: literals only, as the table describes them.
        if (ReadArguments(AttributeTable.ShardedModel, modelAttribute.ArgumentList) is not { } modelValues) return null;
        int devices = modelValues.Get<int>("Devices");
        bool sequenceParallel = modelValues.Get<bool>("SequenceParallel");
        var sequenceParallelArgument = NamedArgument(modelAttribute, "SequenceParallel");

        var layers = new List<LayerModel>();
        var layerAttributes = new List<AttributeSyntax>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var methodNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in cls.Members)
        {
            ct.ThrowIfCancellationRequested();
            if (member.Modifiers.Any(SyntaxKind.RequiredKeyword)) return null; // SHARD013: the parser reports
            switch (member)
            {
                case PropertyDeclarationSyntax property:
                    if (!AddName(property.Identifier, names, methodNames, isType: false) || property.ExplicitInterfaceSpecifier is not null) return null;
                    int count = LayerAttributeOf(property.AttributeLists, out var attribute, out var description);
                    if (count > 1) return null;
                    if (count == 1)
                    {
                        if (ReadLayerProperty(property, attribute!, description!) is not { } layer) return null;
                        layers.Add(layer);
                        layerAttributes.Add(attribute!);
                    }
                    break;
                case BaseFieldDeclarationSyntax field: // fields and field-like events
                    if (HasLayerAttribute(field.AttributeLists)) return null;
                    foreach (var variable in field.Declaration.Variables)
                        if (!AddName(variable.Identifier, names, methodNames, isType: false)) return null;
                    break;
                case MethodDeclarationSyntax method:
                    if (HasLayerAttribute(method.AttributeLists) || method.ExplicitInterfaceSpecifier is not null
                        || !IsPlainName(method.Identifier) || IsReservedOrKnown(method.Identifier.ValueText, isType: false)
                        || names.Contains(method.Identifier.ValueText)) return null;
                    methodNames.Add(method.Identifier.ValueText); // overloads share a name
                    break;
                case EventDeclarationSyntax @event:
                    if (HasLayerAttribute(@event.AttributeLists) || @event.ExplicitInterfaceSpecifier is not null
                        || !AddName(@event.Identifier, names, methodNames, isType: false)) return null;
                    break;
                case BaseTypeDeclarationSyntax nested:
                    if (!AddName(nested.Identifier, names, methodNames, isType: true)) return null;
                    break;
                case DelegateDeclarationSyntax @delegate:
                    if (!AddName(@delegate.Identifier, names, methodNames, isType: true)) return null;
                    break;
                case ConstructorDeclarationSyntax or DestructorDeclarationSyntax or OperatorDeclarationSyntax
                    or ConversionOperatorDeclarationSyntax or IndexerDeclarationSyntax:
                    if (HasLayerAttribute(member.AttributeLists)) return null;
                    break;
                default:
                    return null;
            }
        }

        string name = cls.Identifier.ValueText;
        var hierarchy = HierarchyInfo.TopLevelClass(scope.Namespace, name);
        string metadataName = hierarchy.FullyQualifiedMetadataName;
        var facts = new ModelAssembler.ModelFacts
        {
            Name = name,
            Devices = devices,
            SequenceParallel = sequenceParallel,
            DisplayName = () => metadataName,
            IdentifierLocation = () => LocationInfo.From(cls.Identifier),
            SequenceParallelLocation = () => LocationInfo.From((SyntaxNode?)sequenceParallelArgument ?? modelAttribute),
            Hierarchy = () => hierarchy,
        };
        var result = ModelAssembler.Assemble(facts, layers, i => LocationInfo.From(layerAttributes[i]), diagnostics: null, valid: true);
        return new SyntacticModel(metadataName, scope.Key!, result);
    }

    /// <summary>A layer property in the one form the generator implements: <c>[access] partial Linear Name { get; }</c>.</summary>
    private static LayerModel? ReadLayerProperty(PropertyDeclarationSyntax property, AttributeSyntax attribute, AttributeDescription description)
    {
        if (!HasOnlyModifiers(property.Modifiers, allowSealed: false)) return null;
        if (property.Type is not IdentifierNameSyntax { Identifier: var typeName } || !IsPlainName(typeName)
            || typeName.ValueText != description.PropertyType) return null;
        if (property.ExpressionBody is not null || property.Initializer is not null) return null;
        if (property.AccessorList is not { Accessors: { Count: 1 } accessors }) return null;
        var get = accessors[0];
        if (!get.IsKind(SyntaxKind.GetAccessorDeclaration) || get.Body is not null || get.ExpressionBody is not null
            || get.Modifiers.Count > 0 || get.AttributeLists.Count > 0) return null;
        string name = property.Identifier.ValueText;
        if (Array.IndexOf(GeneratedMembers.WeightsNames, name) >= 0) return null;
        if (!IsSimpleName(attribute.Name)) return null; // [LmHead] has no argument list; ReadLiterals counts the rest
        if (ReadLiterals(description, attribute.ArgumentList) is not var (positional, named)) return null;
        if (description.ReadLayer(name, positional, named) is not ({ } spec, null)) return null;
        return new LayerModel(spec, ModelParser.ModifiersOf(property));
    }

    /// <summary>The argument <c>name = …</c> of <paramref name="attribute"/>, for a diagnostic's location; null when absent.</summary>
    internal static AttributeArgumentSyntax? NamedArgument(AttributeSyntax? attribute, string name) =>
        attribute?.ArgumentList?.Arguments.FirstOrDefault(a => a.NameEquals?.Name.Identifier.ValueText == name);

    /// <summary>An attribute's arguments read from literals by <paramref name="description"/>; null when the parser must judge.</summary>
    private static ArgumentValues? ReadArguments(AttributeDescription description, AttributeArgumentListSyntax? list) =>
        ReadLiterals(description, list) is var (positional, named) ? description.Read(positional, named).Values : null;

    /// <summary>
    /// The constructor arguments, then the named ones, as the constants the compiler would bind them to; null for any
    /// other shape (a named-colon argument, a repeated name, a non-literal, a value the table does not expect).
    /// </summary>
    private static (object?[] Positional, KeyValuePair<string, object?>[] Named)? ReadLiterals(AttributeDescription description, AttributeArgumentListSyntax? list)
    {
        var arguments = list is null ? default : list.Arguments;
        int count = arguments.Count, constructor = description.Positional.Length;
        if (count < constructor) return null;
        var positional = new object?[constructor];
        var named = new KeyValuePair<string, object?>[count - constructor];
        for (int i = 0; i < count; i++)
        {
            var argument = arguments[i];
            if (argument.NameColon is not null) return null;
            if (i < constructor)
            {
                if (argument.NameEquals is not null || Literal(description.Positional[i], argument.Expression) is not { } value) return null;
                positional[i] = value;
                continue;
            }
            if (argument.NameEquals is null) return null;
            string key = argument.NameEquals.Name.Identifier.ValueText;
            for (int j = 0; j < i - constructor; j++)
                if (named[j].Key == key) return null; // a repeated argument: the compiler's error (CS0643)
            if (description.FindNamed(key) is not { } expected || Literal(expected, argument.Expression) is not { } constant) return null;
            named[i - constructor] = new KeyValuePair<string, object?>(key, constant);
        }
        return (positional, named);
    }

    /// <summary>The constant a literal stands for, typed as the compiler would bind it for <paramref name="argument"/>; null when unsure.</summary>
    internal static object? Literal(ArgumentDescription argument, ExpressionSyntax expression) => argument.Type switch
    {
        ArgumentType.Int => TryInt(expression, out int i) ? i : null,
        ArgumentType.Bool => TryBool(expression, out bool b) ? b : null,
        ArgumentType.Float => TryFloat(expression, out float f) ? f : null,
        _ => EnumValue(expression, argument),
    };

    /// <summary><c>Enum.Member</c> with a member the enum defines, as its int value (as the compiler's constant).</summary>
    private static object? EnumValue(ExpressionSyntax expression, ArgumentDescription argument)
    {
        if (expression is not MemberAccessExpressionSyntax
            {
                RawKind: (int)SyntaxKind.SimpleMemberAccessExpression,
                Expression: IdentifierNameSyntax { Identifier: var typeName },
                Name: IdentifierNameSyntax { Identifier: var memberName },
            }) return null;
        if (!IsPlainName(typeName) || typeName.ValueText != argument.EnumType!.Name || !IsPlainName(memberName)) return null;
        if (Array.IndexOf(argument.EnumMembers, memberName.ValueText) < 0) return null;
        return Convert.ToInt32(Enum.Parse(argument.EnumType, memberName.ValueText), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool TryInt(ExpressionSyntax expression, out int value)
    {
        value = 0;
        if (NumericLiteral(expression, out bool negate) is not int literal || (negate && literal == int.MinValue)) return false;
        value = negate ? -literal : literal;
        return true;
    }

    private static bool TryFloat(ExpressionSyntax expression, out float value)
    {
        value = 0;
        if (NumericLiteral(expression, out bool negate) is not float literal) return false;
        value = negate ? -literal : literal;
        return true;
    }

    /// <summary>The value of a numeric literal, optionally after a unary minus (<paramref name="negate"/>); null otherwise.</summary>
    private static object? NumericLiteral(ExpressionSyntax expression, out bool negate)
    {
        negate = false;
        if (expression is PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.UnaryMinusExpression, Operand: var operand })
        {
            negate = true;
            expression = operand;
        }
        return expression is LiteralExpressionSyntax { RawKind: (int)SyntaxKind.NumericLiteralExpression } literal ? literal.Token.Value : null;
    }

    private static bool TryBool(ExpressionSyntax expression, out bool value)
    {
        value = expression.IsKind(SyntaxKind.TrueLiteralExpression);
        return value || expression.IsKind(SyntaxKind.FalseLiteralExpression);
    }

    /// <summary>
    /// The class's scope as the binder sees it: its namespace, and a key naming every directive that shapes lookup
    /// (null when the scope is beyond the syntactic reader: aliases, <c>using static</c>, extern aliases, odd names).
    /// </summary>
    private readonly record struct Scope(string Namespace, string? Key);

    /// <summary>Whether a using alias of the class's file or enclosing namespaces could rename an attribute on it.</summary>
    internal static bool HasAliasInScope(TypeDeclarationSyntax type)
    {
        for (var n = type.Parent; n is not null; n = n.Parent)
        {
            var usings = n switch
            {
                CompilationUnitSyntax unit => unit.Usings,
                BaseNamespaceDeclarationSyntax declaration => declaration.Usings,
                _ => default,
            };
            foreach (var directive in usings)
                if (directive.Alias is not null) return true;
        }
        return false;
    }

    private static Scope ScopeOf(TypeDeclarationSyntax type)
    {
        // Outermost first: the compilation unit's directives, then each enclosing namespace's name and directives.
        var chain = new List<SyntaxNode>();
        for (var n = type.Parent; n is not null; n = n.Parent)
            if (n is BaseNamespaceDeclarationSyntax or CompilationUnitSyntax) chain.Add(n);
        chain.Reverse();

        var key = new StringBuilder();
        var ns = new StringBuilder();
        bool simple = true;
        foreach (var n in chain)
        {
            SyntaxList<UsingDirectiveSyntax> usings;
            int externs;
            if (n is CompilationUnitSyntax unit)
            {
                usings = unit.Usings;
                externs = unit.Externs.Count;
            }
            else
            {
                var declaration = (BaseNamespaceDeclarationSyntax)n;
                usings = declaration.Usings;
                externs = declaration.Externs.Count;
                string name = SourceFactsReader.DottedName(declaration.Name);
                if (!IsDottedName(declaration.Name)) simple = false;
                if (ns.Length > 0) ns.Append('.');
                ns.Append(name);
                key.Append("namespace ").Append(name).Append('\n');
            }
            if (externs > 0) simple = false;
            foreach (var directive in usings)
            {
                if (directive.Alias is not null || !directive.StaticKeyword.IsKind(SyntaxKind.None)) simple = false;
                key.Append(directive.ToString()).Append('\n');
            }
        }
        return new Scope(ns.ToString(), simple ? key.ToString() : null);
    }

    private static bool IsDottedName(NameSyntax name) => name switch
    {
        IdentifierNameSyntax identifier => IsPlainName(identifier.Identifier),
        QualifiedNameSyntax qualified => IsDottedName(qualified.Left) && IsDottedName(qualified.Right),
        _ => false,
    };

    /// <summary>
    /// How many layer attributes a property has, by spelling (2 stands for "several", or one with a target
    /// such as <c>[field: …]</c>, both left to the parser), and the single one's syntax and strategy.
    /// </summary>
    private static int LayerAttributeOf(SyntaxList<AttributeListSyntax> lists, out AttributeSyntax? found, out AttributeDescription? description)
    {
        found = null;
        description = null;
        foreach (var list in lists)
        {
            foreach (var attribute in list.Attributes)
            {
                if (AttributeTable.LayerNamed(RightmostName(attribute.Name)) is not { } d) continue;
                if (found is not null || list.Target is not null) return 2;
                found = attribute;
                description = d;
            }
        }
        return found is null ? 0 : 1;
    }

    private static bool HasLayerAttribute(SyntaxList<AttributeListSyntax> lists)
    {
        foreach (var list in lists)
            foreach (var attribute in list.Attributes)
                if (AttributeTable.LayerNamed(RightmostName(attribute.Name)) is not null) return true;
        return false;
    }

    /// <summary>The last identifier of a name as written: <c>ColumnParallel</c> for <c>ShardGen.ColumnParallel</c>.</summary>
    internal static string RightmostName(NameSyntax name) => name switch
    {
        SimpleNameSyntax simple => simple.Identifier.ValueText,
        QualifiedNameSyntax qualified => qualified.Right.Identifier.ValueText,
        AliasQualifiedNameSyntax aliased => aliased.Name.Identifier.ValueText,
        _ => "",
    };

    /// <summary>An attribute written as a bare identifier, which <see cref="SyntacticCheck"/> verifies per scope.</summary>
    private static bool IsSimpleName(NameSyntax name) => name is IdentifierNameSyntax identifier && IsPlainName(identifier.Identifier);

    /// <summary>Written exactly as its value (no <c>@</c>, no unicode escapes), so names compare as text.</summary>
    private static bool IsPlainName(SyntaxToken identifier) =>
        !identifier.IsMissing && identifier.Text == identifier.ValueText && identifier.Text.Length > 0;

    private static bool HasOnlyModifiers(SyntaxTokenList modifiers, bool allowSealed)
    {
        bool partial = false;
        int access = 0; // more than one is the compiler's error (CS0107), or a combination the parser must judge
        foreach (var modifier in modifiers)
        {
            switch (modifier.Kind())
            {
                case SyntaxKind.PartialKeyword:
                    partial = true;
                    break;
                case var _ when partial:
                    return false; // 'partial' must come last (CS0267)
                case SyntaxKind.PublicKeyword:
                case SyntaxKind.InternalKeyword:
                case SyntaxKind.ProtectedKeyword when !allowSealed:
                case SyntaxKind.PrivateKeyword when !allowSealed:
                    if (++access > 1) return false;
                    break;
                case SyntaxKind.SealedKeyword when allowSealed:
                    break;
                default:
                    return false;
            }
        }
        return partial;
    }

    /// <summary>Records a member's name; false when it is odd, reserved, one of ShardGen's names, or taken.</summary>
    private static bool AddName(SyntaxToken identifier, HashSet<string> names, HashSet<string> methodNames, bool isType) =>
        IsPlainName(identifier) && !IsReservedOrKnown(identifier.ValueText, isType)
        && !methodNames.Contains(identifier.ValueText) && names.Add(identifier.ValueText);

    /// <summary>
    /// A name ShardGen generates, or one whose meaning inside the class the syntactic reading takes for granted
    /// (a member so named would change it), or <c>var</c>, which the generated code uses. An attribute's short name
    /// (<c>FinalNorm</c>) is looked up among types only, so a property, field, event or method may have it (the
    /// LLaMA class's <c>FinalNorm</c> property); a nested type may not.
    /// </summary>
    private static bool IsReservedOrKnown(string name, bool isType = true) =>
        GeneratedMembers.Contains(name) || name == "var" || name == KnownNames.Namespace
        || Array.IndexOf(SyntacticCheck.TypeNames, name) >= 0
        || isType && Array.IndexOf(SyntacticCheck.UnboundNames, name) >= 0;
}
