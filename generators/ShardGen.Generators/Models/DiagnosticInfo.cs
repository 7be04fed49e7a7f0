using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ShardGen.Generators.Models;

/// <summary>A source location as plain values: the file, the span and its line/column form.</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public static LocationInfo? From(Location? location) =>
        location is { IsInSource: true, SourceTree: { } tree }
            ? new LocationInfo(tree.FilePath, location.SourceSpan, location.GetLineSpan().Span)
            : null;

    public static LocationInfo? From(SyntaxNode? node) => node is null ? null : From(node.GetLocation());

    public static LocationInfo? From(SyntaxToken token) => From(token.GetLocation());

    /// <summary>The span of a referenced node (an attribute's application), without materializing the node.</summary>
    public static LocationInfo? From(SyntaxReference? reference) =>
        reference is null ? null : new LocationInfo(reference.SyntaxTree.FilePath, reference.Span, reference.SyntaxTree.GetLineSpan(reference.Span).Span);

    /// <summary>
    /// The location in <paramref name="compilation"/>'s tree of the same path, so <c>#pragma warning</c> and
    /// editors see a real source location; an external-file location if no tree matches.
    /// </summary>
    public Location ToLocation(Compilation? compilation)
    {
        var tree = compilation?.SyntaxTrees.FirstOrDefault(t => t.FilePath == FilePath);
        return tree is not null && Span.End <= tree.Length
            ? Location.Create(tree, Span)
            : Location.Create(FilePath, Span, LineSpan);
    }
}

/// <summary>
/// A diagnostic to report, as values: the descriptor's ID, where, the message arguments, and any additional
/// locations. Turned into a <see cref="Diagnostic"/> only in the reporting output.
/// </summary>
internal sealed record DiagnosticInfo(
    string Id,
    LocationInfo? Location,
    EquatableArray<string> MessageArgs,
    EquatableArray<LocationInfo> AdditionalLocations)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] messageArgs) =>
        new(descriptor.Id, location, new EquatableArray<string>(messageArgs), EquatableArray<LocationInfo>.Empty);
}
