using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace ShardGen.Generators.Tests.Helpers;

/// <summary>Global analyzer options (what MSBuild passes as <c>build_property.*</c>) for a test driver.</summary>
public sealed class TestAnalyzerOptions : AnalyzerConfigOptionsProvider
{
    private readonly Options _global;

    private TestAnalyzerOptions(ImmutableDictionary<string, string> values) => _global = new Options(values);

    public static TestAnalyzerOptions With(string key, string value) =>
        new(ImmutableDictionary<string, string>.Empty.Add(key, value));

    public override AnalyzerConfigOptions GlobalOptions => _global;

    public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;

    public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;

    private sealed class Options : AnalyzerConfigOptions
    {
        public static readonly Options Empty = new(ImmutableDictionary<string, string>.Empty);

        private readonly ImmutableDictionary<string, string> _values;

        public Options(ImmutableDictionary<string, string> values) => _values = values;

        public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => _values.TryGetValue(key, out value);
    }
}
