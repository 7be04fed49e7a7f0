using System;
using System.Collections.Generic;
using System.Collections.Immutable;

namespace ShardGen.Generators.Models;

/// <summary>
/// What one file declares that can change how names bind in other files, read from its syntax
/// (<see cref="Parsing.SourceFactsReader"/>): its global usings, the full names of its top-level types, and
/// whether it declares a type or namespace named like one of ShardGen's.
/// </summary>
internal sealed record FileFacts(EquatableArray<string> GlobalUsings, bool GlobalAlias, bool GlobalStatic,
    EquatableArray<string> TopLevelTypes, bool DeclaresShardGenName);

/// <summary>The <see cref="FileFacts"/> of every file, merged; one value per compilation, equal across most edits.</summary>
internal sealed record SourceFacts(EquatableArray<string> GlobalUsings, bool GlobalAlias, bool GlobalStatic,
    EquatableArray<string> TypesDeclaredTwice, bool DeclaresShardGenName)
{
    public static SourceFacts Merge(ImmutableArray<FileFacts> files)
    {
        var usings = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var twice = new SortedSet<string>(StringComparer.Ordinal);
        bool alias = false, @static = false, shardGenName = false;
        foreach (var file in files)
        {
            usings.AddRange(file.GlobalUsings);
            alias |= file.GlobalAlias;
            @static |= file.GlobalStatic;
            shardGenName |= file.DeclaresShardGenName;
            foreach (var type in file.TopLevelTypes)
                if (!seen.Add(type)) twice.Add(type);
        }
        usings.Sort(StringComparer.Ordinal); // the order of global usings does not change lookup
        return new SourceFacts(usings.ToEquatableArray(), alias, @static, twice.ToEquatableArray(), shardGenName);
    }

    /// <summary>True when <paramref name="metadataName"/> has more than one top-level declaration (partial parts, or a clash).</summary>
    public bool IsDeclaredTwice(string metadataName) => TypesDeclaredTwice.SortedContains(metadataName);
}
