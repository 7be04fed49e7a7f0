using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ShardGen.Generators.Tests.Helpers;

namespace ShardGen.Generators.Tests;

/// <summary>
/// Seeded mutations of valid models: the models of the generated-source tests, the language-model classes and the samples, with numbers
/// changed, names swapped (often for names ShardGen generates or relies on), modifiers toggled, the class nested
/// in other types or namespaces, and tokens deleted. Through the generator both ways (syntactic reader on and off), no
/// mutant may make the generator throw, the two readers must agree, and the generated files must never contain an
/// error: a mistake is the user's file's error or a SHARD diagnostic, never broken generated code.
/// </summary>
public class MutationFuzzTests(Xunit.Abstractions.ITestOutputHelper log)
{
    /// <summary>Fixed, so every run checks the same mutants; SHARDGEN_FUZZ_SEED / SHARDGEN_FUZZ_COUNT explore further.</summary>
    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("SHARDGEN_FUZZ_SEED"), out int seed) ? seed : 20261203;
    private static readonly int Mutants = int.TryParse(Environment.GetEnvironmentVariable("SHARDGEN_FUZZ_COUNT"), out int count) ? count : 400;

    [Fact]
    public void MutatedModelsNeverBreakTheGeneratorOrItsOutput()
    {
        var corpus = Corpus();
        Assert.True(corpus.Count >= 10, $"The corpus has only {corpus.Count} models.");
        var random = new Random(Seed);
        var failures = new List<string>();
        int withOutput = 0;
        for (int i = 0; i < Mutants && failures.Count < 5; i++)
        {
            var (origin, source) = corpus[random.Next(corpus.Count)];
            string mutant = source;
            var applied = new List<string>();
            int count = 1 + random.Next(3);
            for (int m = 0; m < count; m++) mutant = Mutate(mutant, random, applied);
            try
            {
                withOutput += CheckMutant(mutant) ? 1 : 0;
            }
            catch (Exception e) when (e is Xunit.Sdk.XunitException or InvalidOperationException)
            {
                failures.Add($"mutant {i} of {origin} ({string.Join("; ", applied)}):\n{e.Message}\n--- source ---\n{mutant}");
            }
        }
        log.WriteLine($"seed {Seed}: {Mutants} mutants of {corpus.Count} models, {withOutput} generated code, {failures.Count} failed");
        Assert.True(failures.Count == 0, $"seed {Seed}: {failures.Count} failing mutants (first shown):\n\n{string.Join("\n\n", failures)}");
        // The mutants must not all be broken beyond generating: many still produce a model to check.
        Assert.True(withOutput > Mutants / 10, $"seed {Seed}: only {withOutput} of {Mutants} mutants generated code.");
    }

    /// <summary>Runs both readers; true when code was generated. Fails on a generator exception, a disagreement, or an error in generated code.</summary>
    private static bool CheckMutant(string source)
    {
        var compilation = GeneratorHarness.CreateCompilation(("Model.cs", source));
        GeneratorRunResult? semantic = null;
        bool generated = false;
        foreach (bool syntactic in new[] { false, true })
        {
            var result = GeneratorHarness.CreateDriver(syntactic: syntactic)
                .RunGeneratorsAndUpdateCompilation(compilation, out var output, out var driverDiagnostics).GetRunResult().Results.Single();
            if (result.Exception is { } exception) throw new InvalidOperationException($"generator threw (syntactic reader {syntactic}): {exception}");
            if (driverDiagnostics.FirstOrDefault(d => d.Id is "CS8784" or "CS8785" or "AD0001") is { } failed)
                throw new InvalidOperationException($"generator failed (syntactic reader {syntactic}): {failed}");
            if (semantic is not { } first) semantic = result;
            else SyntacticAssert.SameResults(first, result);

            foreach (var tree in output.SyntaxTrees.Except(compilation.SyntaxTrees))
            {
                generated = true;
                var errors = output.GetSemanticModel(tree).GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
                if (errors.Count > 0)
                    throw new InvalidOperationException($"generated {Path.GetFileName(tree.FilePath)} has errors (syntactic reader {syntactic}):\n  " +
                        string.Join("\n  ", errors.Select(e => e.ToString())));
            }
        }
        return generated;
    }

    // ---- The corpus -----------------------------------------------------------------------------------

    /// <summary>Every raw string with a [ShardedModel] in the generated-source tests, and the samples' model files.</summary>
    private static List<(string Origin, string Source)> Corpus()
    {
        string root = RepoRoot();
        var corpus = new List<(string, string)>();
        // The generated-source tests, and the language-model classes of the README (LLaMA, GPT-2, one pinned).
        foreach (string tests in new[] { Path.Combine("Snapshots", "GeneratedSourceTests.cs"), "LanguageModelParsingTests.cs" })
            foreach (var token in CSharpSyntaxTree.ParseText(File.ReadAllText(Path.Combine(root, "tests", "ShardGen.Generators.Tests", tests))).GetRoot().DescendantTokens())
                if (token.IsKind(SyntaxKind.MultiLineRawStringLiteralToken) && token.ValueText.Contains("[ShardedModel", StringComparison.Ordinal))
                    corpus.Add(($"{Path.GetFileNameWithoutExtension(tests)} line {token.GetLocation().GetLineSpan().StartLinePosition.Line + 1}", token.ValueText));
        foreach (var file in Directory.GetFiles(Path.Combine(root, "samples"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
            string text = File.ReadAllText(file);
            if (text.Contains("[ShardedModel", StringComparison.Ordinal)) corpus.Add((Path.GetRelativePath(root, file), text));
        }
        return corpus;
    }

    private static string RepoRoot([CallerFilePath] string file = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, "..", ".."));

    // ---- Mutations ------------------------------------------------------------------------------------

    private static readonly string[] Numbers = { "0", "1", "2", "3", "4", "7", "8", "9", "16", "64", "-1", "-8", "1024", "int.MaxValue", "1e-6f", "0f", "true" };

    /// <summary>Names to swap in: ShardGen's own, the generated members', keywords escaped, ordinary ones.</summary>
    private static readonly string[] Names =
    {
        "Forward", "Create", "Plan", "PlanFor", "Mesh", "LastForward", "LayerSpecs", "Dispose", "Weights", "DeclaredDevices",
        "SequenceParallel", "Random", "_core", "Linear", "TransformerBlock", "ColumnParallel", "RowParallel", "Summa2D",
        "ShardedModel", "ShardedModelAttribute", "ColumnParallelAttribute", "Activation", "NormKind", "ShardGen", "System",
        "Embedding", "TransformerStack", "Norm", "MlpKind", "VocabParallelEmbedding", "PositionEmbedding", "FinalNorm", "LmHead",
        "@class", "@partial", "Up", "Down", "Mlp", "Block0", "X", "global", "var", "value", "devices", "weights", "mesh", "plan",
    };

    private static readonly string[] Modifiers =
        { "partial", "static", "public", "internal", "private", "protected", "sealed", "abstract", "file", "readonly", "new", "virtual", "required", "unsafe", "extern" };

    private static readonly string[] Wrappers =
    {
        "partial class Outer {0}", "public partial class Outer {0}", "file partial class Outer {0}", "static partial class Outer {0}",
        "partial struct Outer {0}", "partial class Outer<T> {0}", "partial record Outer {0}", "class Outer {0}",
        "namespace Inner {0}", "partial interface IOuter {0}", "partial class Outer {{ partial class Mid {0} }}",
    };

    /// <summary>One random mutation of <paramref name="source"/>, described in <paramref name="applied"/>.</summary>
    private static string Mutate(string source, Random random, List<string> applied)
    {
        var root = CSharpSyntaxTree.ParseText(source, GeneratorHarness.ParseOptions).GetRoot();
        var tokens = root.DescendantTokens().ToList();
        switch (random.Next(6))
        {
            case 0:
            {
                var numbers = tokens.Where(t => t.IsKind(SyntaxKind.NumericLiteralToken)).ToList();
                if (numbers.Count == 0) goto default;
                var token = numbers[random.Next(numbers.Count)];
                string number = Numbers[random.Next(Numbers.Length)];
                applied.Add($"number {token.Text} -> {number}");
                return Replace(source, token.Span, number);
            }
            case 1:
            {
                var identifiers = tokens.Where(t => t.IsKind(SyntaxKind.IdentifierToken)).ToList();
                var token = identifiers[random.Next(identifiers.Count)];
                string name = random.Next(3) == 0 ? identifiers[random.Next(identifiers.Count)].Text : Names[random.Next(Names.Length)];
                applied.Add($"name {token.Text} -> {name}");
                return Replace(source, token.Span, name);
            }
            case 2:
            {
                var declarations = root.DescendantNodes().Where(n => n is TypeDeclarationSyntax or BasePropertyDeclarationSyntax).Cast<MemberDeclarationSyntax>().ToList();
                var declaration = declarations[random.Next(declarations.Count)];
                string modifier = Modifiers[random.Next(Modifiers.Length)];
                var existing = declaration.Modifiers.FirstOrDefault(m => m.Text == modifier);
                if (existing != default)
                {
                    applied.Add($"remove '{modifier}'");
                    return Replace(source, existing.FullSpan, "");
                }
                int at = declaration.Modifiers.Count > 0 && random.Next(2) == 0 ? declaration.Modifiers[0].SpanStart
                    : declaration.Modifiers.Count > 0 ? declaration.Modifiers.Last().Span.End + 1 : FirstTokenAfterAttributes(declaration).SpanStart;
                applied.Add($"add '{modifier}'");
                return source.Insert(Math.Min(at, source.Length), modifier + " ");
            }
            case 3:
            {
                var models = root.DescendantNodes().OfType<ClassDeclarationSyntax>()
                    .Where(c => c.AttributeLists.SelectMany(l => l.Attributes).Any(a => a.Name.ToString().Contains("ShardedModel"))).ToList();
                if (models.Count == 0) goto default;
                var model = models[random.Next(models.Count)];
                string wrapper = Wrappers[random.Next(Wrappers.Length)];
                applied.Add($"nest in '{wrapper}'");
                string wrapped = string.Format(wrapper, "{\n" + model.ToFullString() + "\n}");
                return Replace(source, model.FullSpan, wrapped);
            }
            case 4:
            {
                var token = tokens[random.Next(tokens.Count)];
                applied.Add($"delete '{token.Text}'");
                return Replace(source, token.Span, "");
            }
            default:
            {
                // Duplicate a member: two layers of one name, or a second attribute list.
                var members = root.DescendantNodes().OfType<PropertyDeclarationSyntax>().ToList();
                if (members.Count == 0) return source;
                var member = members[random.Next(members.Count)];
                applied.Add($"duplicate '{member.Identifier.Text}'");
                return source.Insert(member.FullSpan.End, member.ToFullString());
            }
        }
    }

    private static SyntaxToken FirstTokenAfterAttributes(MemberDeclarationSyntax declaration) =>
        declaration.AttributeLists.Count > 0 ? declaration.AttributeLists.Last().GetLastToken().GetNextToken() : declaration.GetFirstToken();

    private static string Replace(string source, Microsoft.CodeAnalysis.Text.TextSpan span, string text) =>
        new StringBuilder(source).Remove(span.Start, span.Length).Insert(span.Start, text).ToString();
}
