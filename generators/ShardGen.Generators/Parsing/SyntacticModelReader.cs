using System;
using System.Collections.Generic;
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
/// parser's own) returns no <see cref="FastModel"/>, and <see cref="ModelParser"/> reads the class with the
/// compiler's help. What a fast reading assumes about names is checked per compilation by <see cref="FastPathCheck"/>.
/// </para>
/// </summary>
internal static class SyntacticModelReader
{
    private static readonly string[] ActivationNames = Enum.GetNames(typeof(Activation));
    private static readonly string[] NormKindNames = Enum.GetNames(typeof(NormKind));
    private static readonly string[] WeightLayoutNames = Enum.GetNames(typeof(WeightLayout));

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
                if (!IsModelAttributeName(RightmostName(attribute.Name))) continue;
                modelAttributes++;
                modelAttribute ??= attribute;
            }
        }

        string path = type.SyntaxTree.FilePath;
        if (modelAttribute is null)
            return new ModelCandidate(path, type.Span, HasAliasInScope(type) ? CandidateKind.MaybeAliased : CandidateKind.Other, null);

        var fast = modelAttributes == 1 && !targeted && type is ClassDeclarationSyntax cls && ScopeOf(cls) is { Key: not null } scope
            ? ReadFast(cls, modelAttribute, scope, ct)
            : null;
        return new ModelCandidate(path, type.Span, CandidateKind.Model, fast);
    }

    private static FastModel? ReadFast(ClassDeclarationSyntax cls, AttributeSyntax modelAttribute, Scope scope, CancellationToken ct)
    {
        if (cls.Parent is not (BaseNamespaceDeclarationSyntax or CompilationUnitSyntax)) return null; // nested: parser
        if (cls.ContainsDiagnostics || cls.ContainsDirectives) return null;
        if (cls.TypeParameterList is not null || cls.ParameterList is not null || cls.BaseList is not null
            || cls.ConstraintClauses.Count > 0) return null;
        if (!HasOnlyModifiers(cls.Modifiers, allowSealed: true)) return null;
        if (!IsPlainName(cls.Identifier) || IsReservedOrKnown(cls.Identifier.ValueText)) return null; // SHARD021 etc.: the parser reports
        if (!IsSimpleName(modelAttribute.Name)) return null;

        // [ShardedModel(Devices = n, SequenceParallel = b)]: named literals only.
        int devices = 0;
        bool sequenceParallel = false, seenDevices = false;
        AttributeArgumentSyntax? sequenceParallelArgument = null;
        if (modelAttribute.ArgumentList is { } modelArguments)
        {
            foreach (var argument in modelArguments.Arguments)
            {
                if (argument.NameEquals is null || argument.NameColon is not null) return null;
                switch (argument.NameEquals.Name.Identifier.ValueText)
                {
                    case "Devices" when !seenDevices && TryInt(argument.Expression, out devices):
                        seenDevices = true;
                        break;
                    case "SequenceParallel" when sequenceParallelArgument is null && TryBool(argument.Expression, out sequenceParallel):
                        sequenceParallelArgument = argument;
                        break;
                    default:
                        return null;
                }
            }
        }

        var layers = new List<ModelAssembler.ReadLayer>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var methodNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in cls.Members)
        {
            ct.ThrowIfCancellationRequested();
            if (member.Modifiers.Any(SyntaxKind.RequiredKeyword)) return null; // SHARD013: the parser reports
            switch (member)
            {
                case PropertyDeclarationSyntax property:
                    if (!AddName(property.Identifier, names, methodNames) || property.ExplicitInterfaceSpecifier is not null) return null;
                    int count = LayerAttributeOf(property.AttributeLists, out var attribute, out var strategy);
                    if (count > 1) return null;
                    if (count == 1)
                    {
                        if (ReadLayerProperty(property, attribute!, strategy) is not { } layer) return null;
                        layers.Add(layer);
                    }
                    break;
                case BaseFieldDeclarationSyntax field: // fields and field-like events
                    if (HasLayerAttribute(field.AttributeLists)) return null;
                    foreach (var variable in field.Declaration.Variables)
                        if (!AddName(variable.Identifier, names, methodNames)) return null;
                    break;
                case MethodDeclarationSyntax method:
                    if (HasLayerAttribute(method.AttributeLists) || method.ExplicitInterfaceSpecifier is not null
                        || !IsPlainName(method.Identifier) || IsReservedOrKnown(method.Identifier.ValueText)
                        || names.Contains(method.Identifier.ValueText)) return null;
                    methodNames.Add(method.Identifier.ValueText); // overloads share a name
                    break;
                case EventDeclarationSyntax @event:
                    if (HasLayerAttribute(@event.AttributeLists) || @event.ExplicitInterfaceSpecifier is not null
                        || !AddName(@event.Identifier, names, methodNames)) return null;
                    break;
                case BaseTypeDeclarationSyntax nested:
                    if (!AddName(nested.Identifier, names, methodNames)) return null;
                    break;
                case DelegateDeclarationSyntax @delegate:
                    if (!AddName(@delegate.Identifier, names, methodNames)) return null;
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
        var result = ModelAssembler.Assemble(facts, layers, diagnostics: null, valid: true);
        return new FastModel(metadataName, scope.Key!, result);
    }

    /// <summary>A layer property in the one form the generator implements: <c>[access] partial Linear Name { get; }</c>.</summary>
    private static ModelAssembler.ReadLayer? ReadLayerProperty(PropertyDeclarationSyntax property, AttributeSyntax attribute, ParallelStrategy strategy)
    {
        bool isBlock = strategy == ParallelStrategy.TransformerBlock;
        if (!HasOnlyModifiers(property.Modifiers, allowSealed: false)) return null;
        if (property.Type is not IdentifierNameSyntax { Identifier: var typeName } || !IsPlainName(typeName)
            || typeName.ValueText != (isBlock ? "TransformerBlock" : "Linear")) return null;
        if (property.ExpressionBody is not null || property.Initializer is not null) return null;
        if (property.AccessorList is not { Accessors: { Count: 1 } accessors }) return null;
        var get = accessors[0];
        if (!get.IsKind(SyntaxKind.GetAccessorDeclaration) || get.Body is not null || get.ExpressionBody is not null
            || get.Modifiers.Count > 0 || get.AttributeLists.Count > 0) return null;
        string name = property.Identifier.ValueText;
        if (Array.IndexOf(GeneratedMembers.WeightsNames, name) >= 0) return null;
        if (!IsSimpleName(attribute.Name) || attribute.ArgumentList is not { } list) return null;

        // Two positional ints, then named literals: the only shapes the attribute constructors take.
        var arguments = list.Arguments;
        if (arguments.Count < 2) return null;
        var named = new KeyValuePair<string, object?>[arguments.Count - 2];
        int first = 0, second = 0;
        for (int i = 0; i < arguments.Count; i++)
        {
            var argument = arguments[i];
            if (argument.NameColon is not null) return null;
            if (i < 2)
            {
                if (argument.NameEquals is not null || !TryInt(argument.Expression, out int value)) return null;
                if (i == 0) first = value; else second = value;
                continue;
            }
            if (argument.NameEquals is null) return null;
            string key = argument.NameEquals.Name.Identifier.ValueText;
            for (int j = 0; j < i - 2; j++)
                if (named[j].Key == key) return null; // a repeated argument: the compiler's error (CS0643)
            if (NamedValue(key, argument.Expression, isBlock) is not { } constant) return null;
            named[i - 2] = new KeyValuePair<string, object?>(key, constant);
        }
        if (LayerArguments.Read(strategy, name, first, second, named) is not ({ } spec, null)) return null;
        return new ModelAssembler.ReadLayer(spec, ModelParser.ModifiersOf(property), () => LocationInfo.From(attribute));
    }

    /// <summary>The constant a named argument's literal stands for, typed as the compiler would bind it; null when unsure.</summary>
    private static object? NamedValue(string key, ExpressionSyntax expression, bool isBlock)
    {
        switch (key)
        {
            case "Bias":
            case "Causal" when isBlock:
                return TryBool(expression, out bool b) ? b : null;
            case "KvHeads" when isBlock:
            case "FfnHidden" when isBlock:
                return TryInt(expression, out int i) ? i : null;
            case "NormEpsilon" when isBlock:
                return TryFloat(expression, out float f) ? f : null;
            case "Activation":
                return EnumValue(expression, "Activation", ActivationNames, typeof(Activation));
            case "Norm" when isBlock:
                return EnumValue(expression, "NormKind", NormKindNames, typeof(NormKind));
            case "WeightLayout" when !isBlock:
                return EnumValue(expression, "WeightLayout", WeightLayoutNames, typeof(WeightLayout));
            default:
                return null;
        }
    }

    /// <summary><c>Enum.Member</c> with a member the enum defines, as its int value (as the compiler's constant).</summary>
    private static object? EnumValue(ExpressionSyntax expression, string enumName, string[] memberNames, Type enumType)
    {
        if (expression is not MemberAccessExpressionSyntax
            {
                RawKind: (int)SyntaxKind.SimpleMemberAccessExpression,
                Expression: IdentifierNameSyntax { Identifier: var typeName },
                Name: IdentifierNameSyntax { Identifier: var memberName },
            }) return null;
        if (!IsPlainName(typeName) || typeName.ValueText != enumName || !IsPlainName(memberName)) return null;
        if (Array.IndexOf(memberNames, memberName.ValueText) < 0) return null;
        return Convert.ToInt32(Enum.Parse(enumType, memberName.ValueText), System.Globalization.CultureInfo.InvariantCulture);
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
    /// (null when the scope is beyond the fast path: aliases, <c>using static</c>, extern aliases, odd names).
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
    private static int LayerAttributeOf(SyntaxList<AttributeListSyntax> lists, out AttributeSyntax? found, out ParallelStrategy strategy)
    {
        found = null;
        strategy = default;
        foreach (var list in lists)
        {
            foreach (var attribute in list.Attributes)
            {
                if (StrategyOfName(RightmostName(attribute.Name)) is not { } s) continue;
                if (found is not null || list.Target is not null) return 2;
                found = attribute;
                strategy = s;
            }
        }
        return found is null ? 0 : 1;
    }

    private static bool HasLayerAttribute(SyntaxList<AttributeListSyntax> lists)
    {
        foreach (var list in lists)
            foreach (var attribute in list.Attributes)
                if (StrategyOfName(RightmostName(attribute.Name)) is not null) return true;
        return false;
    }

    internal static ParallelStrategy? StrategyOfName(string name) => name switch
    {
        "ColumnParallel" or "ColumnParallelAttribute" => ParallelStrategy.ColumnParallel,
        "RowParallel" or "RowParallelAttribute" => ParallelStrategy.RowParallel,
        "Summa2D" or "Summa2DAttribute" => ParallelStrategy.Summa2D,
        "TransformerBlock" or "TransformerBlockAttribute" => ParallelStrategy.TransformerBlock,
        _ => null,
    };

    internal static bool IsModelAttributeName(string name) => name is "ShardedModel" or "ShardedModelAttribute";

    /// <summary>The last identifier of a name as written: <c>ColumnParallel</c> for <c>ShardGen.ColumnParallel</c>.</summary>
    internal static string RightmostName(NameSyntax name) => name switch
    {
        SimpleNameSyntax simple => simple.Identifier.ValueText,
        QualifiedNameSyntax qualified => qualified.Right.Identifier.ValueText,
        AliasQualifiedNameSyntax aliased => aliased.Name.Identifier.ValueText,
        _ => "",
    };

    /// <summary>An attribute written as a bare identifier, which <see cref="FastPathCheck"/> verifies per scope.</summary>
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
    private static bool AddName(SyntaxToken identifier, HashSet<string> names, HashSet<string> methodNames) =>
        IsPlainName(identifier) && !IsReservedOrKnown(identifier.ValueText)
        && !methodNames.Contains(identifier.ValueText) && names.Add(identifier.ValueText);

    /// <summary>
    /// A name ShardGen generates, or one whose meaning inside the class the fast reading takes for granted
    /// (a member so named would change it), or <c>var</c>, which the generated code uses.
    /// </summary>
    private static bool IsReservedOrKnown(string name) =>
        GeneratedMembers.Contains(name) || FastPathCheck.IsShardGenName(name) || name == "var";
}
