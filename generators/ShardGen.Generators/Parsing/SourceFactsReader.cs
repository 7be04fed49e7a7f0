using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ShardGen.Generators.Models;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// Reads the <see cref="FileFacts"/> of one file from its syntax: what it declares that could change how a
/// model's names bind elsewhere. Runs only when the file changes.
/// </summary>
internal static class SourceFactsReader
{
    public static FileFacts Read(CompilationUnitSyntax unit)
    {
        var usings = new List<string>();
        bool alias = false, @static = false;
        foreach (var directive in unit.Usings)
        {
            if (directive.GlobalKeyword.IsKind(SyntaxKind.None)) break; // global usings come first
            usings.Add(directive.ToString());
            alias |= directive.Alias is not null;
            @static |= !directive.StaticKeyword.IsKind(SyntaxKind.None);
        }

        var types = new List<string>();
        bool shardGenName = false;
        Collect(unit.Members, "", types, ref shardGenName);
        return new FileFacts(usings.ToEquatableArray(), alias, @static, types.ToEquatableArray(), shardGenName);
    }

    /// <summary>Top-level types by full name; any namespace part or top-level type named like ShardGen's names.</summary>
    private static void Collect(SyntaxList<MemberDeclarationSyntax> members, string ns, List<string> types, ref bool shardGenName)
    {
        foreach (var member in members)
        {
            switch (member)
            {
                case BaseNamespaceDeclarationSyntax declaration:
                    string name = DottedName(declaration.Name);
                    foreach (var part in name.Split('.'))
                        shardGenName |= SyntacticCheck.IsShardGenName(part);
                    Collect(declaration.Members, ns.Length == 0 ? name : ns + "." + name, types, ref shardGenName);
                    break;
                case BaseTypeDeclarationSyntax type:
                    Add(type.Identifier, ns, types, ref shardGenName);
                    break;
                case DelegateDeclarationSyntax @delegate:
                    Add(@delegate.Identifier, ns, types, ref shardGenName);
                    break;
            }
        }
    }

    /// <summary>A namespace name as its parts' values joined by dots ("A.B" however it is spaced or escaped).</summary>
    public static string DottedName(NameSyntax name) => name switch
    {
        QualifiedNameSyntax qualified => DottedName(qualified.Left) + "." + qualified.Right.Identifier.ValueText,
        SimpleNameSyntax simple => simple.Identifier.ValueText,
        AliasQualifiedNameSyntax aliased => aliased.Name.Identifier.ValueText,
        _ => name.ToString(),
    };

    private static void Add(SyntaxToken identifier, string ns, List<string> types, ref bool shardGenName)
    {
        string name = identifier.ValueText;
        shardGenName |= SyntacticCheck.IsShardGenName(name);
        types.Add(ns.Length == 0 ? name : ns + "." + name);
    }
}
