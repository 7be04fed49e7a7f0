using System.Linq;
using Microsoft.CodeAnalysis;

namespace ShardGen.Generators.Tests.Helpers;

/// <summary>Compares a run with the syntactic reader against a run without it.</summary>
public static class SyntacticAssert
{
    /// <summary>Same generated files (name and text) and same diagnostics (ID, place, message), in any order.</summary>
    public static void SameResults(GeneratorRunResult semanticOnly, GeneratorRunResult withSyntactic)
    {
        Assert.Null(semanticOnly.Exception);
        Assert.Null(withSyntactic.Exception);
        Assert.Equal(Files(semanticOnly), Files(withSyntactic));
        Assert.Equal(Diagnostics(semanticOnly), Diagnostics(withSyntactic));
    }

    private static string[] Files(GeneratorRunResult result) =>
        result.GeneratedSources.Select(s => s.HintName + "\n" + s.SourceText).OrderBy(x => x, System.StringComparer.Ordinal).ToArray();

    private static string[] Diagnostics(GeneratorRunResult result) =>
        result.Diagnostics
            .Select(d => $"{d.Id} {GeneratorOutput.WhereExactly(d.Location)} {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)} " +
                         string.Join(";", d.AdditionalLocations.Select(GeneratorOutput.WhereExactly)))
            .OrderBy(x => x, System.StringComparer.Ordinal).ToArray();
}
