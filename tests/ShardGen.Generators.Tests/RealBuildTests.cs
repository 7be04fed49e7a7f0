extern alias gen;

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using ShardGen.TestSupport;
using ShardGenerator = gen::ShardGen.Generators.ShardGenerator;

namespace ShardGen.Generators.Tests;

/// <summary>
/// Each mistake as a user meets it: a real <c>dotnet build</c> of a small project that references the built runtime
/// and the generator as an analyzer, as a package would. The analyzer API alone is not enough: it runs analyzers
/// where the compiler would not (after CS9248, say). Every case is a file with one mistake in its own namespace, so
/// one build checks several; the shadowing cases get their own project because a type named like ShardGen's changes
/// how every model in the project is read. The two projects build in parallel, once for all tests here.
/// </summary>
public class RealBuildTests
{
    /// <summary>Case files by name: the project they go in, the mistake, and the SHARD ID the build must report in that file.</summary>
    private static readonly Dictionary<string, (string Project, string Source, string Id)> Cases = new()
    {
        ["MissingModelAttribute"] = ("Main", """
            using ShardGen;
            namespace MissingModelAttribute;
            public partial class Mlp
            {
                [ColumnParallel(64, 128)] public partial Linear Up { get; }
            }
            """, "SHARD020"),
        ["ModelNamedForward"] = ("Main", """
            using ShardGen;
            namespace ModelNamedForward;
            [ShardedModel] public partial class Forward
            {
                [ColumnParallel(64, 128)] public partial Linear Up { get; }
            }
            """, "SHARD021"),
        ["ModelNamedWeights"] = ("Main", """
            using ShardGen;
            namespace ModelNamedWeights;
            [ShardedModel] public partial class Weights
            {
                [ColumnParallel(64, 128)] public partial Linear Up { get; }
            }
            """, "SHARD021"),
        ["NestedInFileClass"] = ("Main", """
            using ShardGen;
            namespace NestedInFileClass;
            file partial class Outer
            {
                [ShardedModel] public partial class Mlp
                {
                    [ColumnParallel(64, 128)] public partial Linear Up { get; }
                }
            }
            """, "SHARD013"),
        ["LayerOnIndexer"] = ("Main", """
            using ShardGen;
            namespace LayerOnIndexer;
            [ShardedModel] public partial class Mlp
            {
                [ColumnParallel(64, 128)] public partial Linear Up { get; }
                [RowParallel(128, 64)] public partial Linear this[int i] { get; }
            }
            """, "SHARD003"),
        ["FieldTargetedLayer"] = ("Main", """
            using ShardGen;
            namespace FieldTargetedLayer;
            [ShardedModel] public partial class Mlp
            {
                [ColumnParallel(64, 128)] public partial Linear Up { get; }
                [field: RowParallel(128, 64)] public partial Linear Down { get; }
            }
            """, "SHARD022"),
        ["LanguageModelHeadNotLast"] = ("Main", """
            using ShardGen;
            namespace LanguageModelHeadNotLast;
            [ShardedModel] public partial class Llama
            {
                [VocabParallelEmbedding] public partial Embedding Embed { get; }
                [TransformerStack] public partial TransformerStack Layers { get; }
                [LmHead] public partial Linear Head { get; }
                [FinalNorm(NormKind.RmsNorm)] public partial Norm FinalNorm { get; }
            }
            """, "SHARD024"),
        ["LanguageModelWithoutHead"] = ("Main", """
            using ShardGen;
            namespace LanguageModelWithoutHead;
            [ShardedModel] public partial class Gpt2
            {
                [VocabParallelEmbedding] public partial Embedding Embed { get; }
                [PositionEmbedding] public partial Embedding Positions { get; }
                [TransformerStack(Norm = NormKind.LayerNorm, Mlp = MlpKind.Plain, Rotary = false)] public partial TransformerStack Layers { get; }
            }
            """, "SHARD025"),
        ["ShadowedLayerAttribute"] = ("Shadowed", """
            using ShardGen;
            namespace ShadowedLayerAttribute;
            public sealed class ColumnParallelAttribute : System.Attribute { public ColumnParallelAttribute(int i, int o) { } }
            [ShardedModel] public partial class Mlp
            {
                [ColumnParallel(64, 128)] public partial Linear Up { get; }
                [RowParallel(128, 64)] public partial Linear Down { get; }
            }
            """, "SHARD023"),
        ["ShadowedModelAttribute"] = ("Shadowed", """
            using ShardGen;
            namespace ShadowedModelAttribute;
            public sealed class ShardedModelAttribute : System.Attribute { }
            [ShardedModel] public partial class Mlp
            {
                [ColumnParallel(64, 128)] public partial Linear Up { get; }
            }
            """, "SHARD023"),
    };

    /// <summary>A correct model in each project: the generator runs there and its output builds.</summary>
    private const string ValidModel = """
        using ShardGen;
        namespace Valid;
        [ShardedModel] public partial class Mlp
        {
            [ColumnParallel(64, 128, Activation = Activation.Gelu)] public partial Linear Up { get; }
            [RowParallel(128, 64)] public partial Linear Down { get; }
        }
        """;

    /// <summary>The errors the generated code used to cause, or that a SHARD diagnostic now explains instead.</summary>
    private static readonly string[] ReplacedErrors = { "CS0542", "CS1729", "CS9249" };

    private sealed record BuildDiagnostic(string File, string Severity, string Id, string Message);

    private sealed record BuildResult(int ExitCode, string Output, IReadOnlyList<BuildDiagnostic> Diagnostics, IReadOnlyList<string> GeneratedFiles);

    private static readonly Lazy<IReadOnlyDictionary<string, BuildResult>> Builds = new(BuildAll);

    private static IReadOnlyDictionary<string, BuildResult> BuildAll()
    {
        string root = Path.Combine(Path.GetTempPath(), "shardgen-realbuild-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var projects = Cases.GroupBy(c => c.Value.Project).ToList();
            var builds = projects.Select(p => Task.Run(() => (p.Key, Build(Path.Combine(root, p.Key), p.Select(c => (c.Key, c.Value.Source))))))
                .ToArray();
            Task.WaitAll(builds);
            return builds.ToDictionary(b => b.Result.Key, b => b.Result.Item2);
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }

    private static BuildResult Build(string directory, IEnumerable<(string Name, string Source)> files)
    {
        Directory.CreateDirectory(directory);
        string runtime = typeof(ShardGen.DeviceMesh).Assembly.Location;
        string generator = typeof(ShardGenerator).Assembly.Location;
        File.WriteAllText(Path.Combine(directory, "Cases.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <LangVersion>latest</LangVersion>
                <EmitCompilerGeneratedFiles>true</EmitCompilerGeneratedFiles>
              </PropertyGroup>
              <ItemGroup>
                <Reference Include="{runtime}" />
                <Analyzer Include="{generator}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(directory, "Valid.cs"), ValidModel);
        foreach (var (name, source) in files) File.WriteAllText(Path.Combine(directory, name + ".cs"), source);

        var build = DotnetProcess.Run(directory, ["build", "-m:1", "-clp:NoSummary"], timeoutSeconds: 240);
        var (exitCode, output) = (build.ExitCode, build.Output);
        var generated = Directory.GetFiles(Path.Combine(directory, "obj"), "*.g.cs", SearchOption.AllDirectories)
            .Where(f => f.Contains("ShardGen.Generators.ShardGenerator", StringComparison.Ordinal)).Select(Path.GetFileName).ToList();
        return new BuildResult(exitCode, output, Parse(output), generated!);
    }

    /// <summary>"path(line,col): error CS0542: message [project]", each once (MSBuild may repeat them).</summary>
    private static readonly Regex DiagnosticLine = new(@"^\s*(?<file>[^\s(][^(]*)\(\d+,\d+\): (?<severity>error|warning) (?<id>[A-Z]+\d+): (?<message>.*?)( \[[^\]]*\])?$",
        RegexOptions.Multiline | RegexOptions.Compiled);

    private static IReadOnlyList<BuildDiagnostic> Parse(string output) => DiagnosticLine.Matches(output)
        .Select(m => new BuildDiagnostic(m.Groups["file"].Value.Trim(), m.Groups["severity"].Value, m.Groups["id"].Value, m.Groups["message"].Value))
        .Distinct()
        .ToList();

    private static bool IsGenerated(BuildDiagnostic d) => d.File.Contains("ShardGen.Generators.ShardGenerator", StringComparison.Ordinal);

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void MistakeIsReportedAsItsShardDiagnostic(string name)
    {
        var (project, _, id) = Cases[name];
        var build = Builds.Value[project];
        string listing = $"dotnet build output (exit {build.ExitCode}):\n{build.Output}";
        Assert.True(build.ExitCode != 0, listing);

        var inFile = build.Diagnostics.Where(d => Path.GetFileName(d.File) == name + ".cs").ToList();
        Assert.True(inFile.Any(d => d.Id == id && d.Severity == "error"), $"Expected {id} in {name}.cs.\n{listing}");
        Assert.All(inFile.Where(d => d.Id == id), d => Assert.Contains("docs/diagnostics.md#" + id.ToLowerInvariant(), d.Message));
        // Besides ShardGen's errors, only CS9248 for the layers nothing implements (a compiler error a generator
        // cannot withdraw): no error the generated code would have caused.
        Assert.All(inFile.Where(d => d.Severity == "error"), d => Assert.True(d.Id.StartsWith("SHARD", StringComparison.Ordinal) || d.Id == "CS9248",
            $"Unexpected {d.Id} in {name}.cs: {d.Message}\n{listing}"));
    }

    [Theory]
    [InlineData("Main")]
    [InlineData("Shadowed")]
    public void GeneratedCodeHasNoErrors_AndTheValidModelBuilds(string project)
    {
        var build = Builds.Value[project];
        string listing = $"dotnet build output (exit {build.ExitCode}):\n{build.Output}";
        Assert.DoesNotContain(build.Diagnostics, d => IsGenerated(d) || ReplacedErrors.Contains(d.Id));
        Assert.DoesNotContain(build.Diagnostics, d => Path.GetFileName(d.File) == "Valid.cs");
        // The generator ran (a build that stopped early would show no errors in generated files either), wrote the
        // valid model, and nothing for the models with mistakes.
        Assert.Contains(build.Diagnostics, d => d.Id.StartsWith("SHARD", StringComparison.Ordinal));
        Assert.Equal(new[] { "Valid.Mlp.g.cs" }, build.GeneratedFiles);
        Assert.DoesNotContain("AD0001", build.Output);
        Assert.DoesNotContain("CS8785", build.Output);
    }
}
