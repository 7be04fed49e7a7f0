using System.Collections.Generic;
using System.Text;
using Microsoft.CodeAnalysis;

namespace ShardGen.Generators.Models;

/// <summary>One type of a hierarchy: its name and the keyword that declares it ("class", "struct", "record struct", …).</summary>
internal sealed record TypeInfo(string Name, string Keyword);

/// <summary>
/// Where a type lives: its namespace (empty for the global namespace) and the chain of types from the type
/// itself (index 0) out to the outermost containing type. Lets the emitter reopen nested partial types.
/// </summary>
internal sealed record HierarchyInfo(string FullyQualifiedMetadataName, string Namespace, EquatableArray<TypeInfo> Hierarchy)
{
    /// <summary>The type's own name, e.g. "Mlp".</summary>
    public string Name => Hierarchy[0].Name;

    /// <summary>The name users read, e.g. "Demo.Outer.Mlp".</summary>
    public string DisplayName
    {
        get
        {
            var sb = new StringBuilder(Namespace);
            for (int i = Hierarchy.Count - 1; i >= 0; i--)
            {
                if (sb.Length > 0) sb.Append('.');
                sb.Append(Hierarchy[i].Name);
            }
            return sb.ToString();
        }
    }

    /// <summary>A unique file name for the generated source: <c>{FullyQualifiedMetadataName}.g.cs</c>.</summary>
    public string HintName => FullyQualifiedMetadataName + ".g.cs";

    /// <summary>A class declared directly in <paramref name="ns"/> ("" for the global namespace), as read from syntax.</summary>
    public static HierarchyInfo TopLevelClass(string ns, string name) =>
        new(ns.Length == 0 ? name : ns + "." + name, ns, new EquatableArray<TypeInfo>(new[] { new TypeInfo(name, "class") }));

    public static HierarchyInfo From(INamedTypeSymbol type)
    {
        var types = new List<TypeInfo>();
        for (var t = type; t is not null; t = t.ContainingType)
            types.Add(new TypeInfo(t.Name, KeywordOf(t)));
        // The namespace as code writes it ("@class" for a keyword); the metadata name, which names the file, unescaped.
        var ns = type.ContainingNamespace is { IsGlobalNamespace: false } n ? n.ToDisplayString() : "";
        var metadataName = new StringBuilder();
        for (var part = type.ContainingNamespace; part is { IsGlobalNamespace: false }; part = part.ContainingNamespace)
            metadataName.Insert(0, metadataName.Length == 0 ? part.Name : part.Name + ".");
        for (int i = types.Count - 1; i >= 0; i--)
        {
            if (metadataName.Length > 0) metadataName.Append(i == types.Count - 1 ? '.' : '+');
            metadataName.Append(types[i].Name);
        }
        return new HierarchyInfo(metadataName.ToString(), ns, types.ToEquatableArray());
    }

    private static string KeywordOf(INamedTypeSymbol type) => type.TypeKind switch
    {
        TypeKind.Struct => type.IsRecord ? "record struct" : "struct",
        TypeKind.Interface => "interface",
        _ => type.IsRecord ? "record" : "class",
    };
}
