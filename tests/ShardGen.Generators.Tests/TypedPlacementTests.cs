using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using ShardGen.Generators.Tests.Helpers;

namespace ShardGen.Generators.Tests;

/// <summary>
/// A generated Forward's values carry their placement in their C# type (ShardedTensor&lt;PartialSums&gt;,
/// ShardedTensor&lt;ColumnShards&gt;…). Each test generates a model, checks the code compiles as generated, then deletes
/// one transition (passing its input straight on, as a wrong plan or a hand edit would) and asserts that the compiler
/// rejects the consumer, naming the placements.
/// </summary>
public class TypedPlacementTests
{
    private const string Placements = "ShardGen.Runtime.";

    [Fact]
    public void PartialSumsIntoAColumnParallelLaunchDoNotCompile()
    {
        var errors = CompileWithout("""
            using ShardGen;
            namespace Demo;

            [ShardedModel(Devices = 4)]
            public partial class Deep
            {
                [ColumnParallel(256, 1024, Activation = Activation.Gelu)]
                public partial Linear Up { get; }

                [RowParallel(1024, 256)]
                public partial Linear Down { get; }

                [ColumnParallel(256, 512)]
                public partial Linear Next { get; }
            }
            """, "AllReduce");
        AssertRejected(errors, "pass.ColumnParallel(", from: "PartialSums", to: "Replicated");
    }

    [Fact]
    public void ColumnShardsIntoAColumnParallelLaunchDoNotCompile()
    {
        var errors = CompileWithout("""
            using ShardGen;
            namespace Demo;

            [ShardedModel]
            public partial class Widen
            {
                [ColumnParallel(512, 2048, Activation = Activation.Relu)]
                public partial Linear First { get; }

                [ColumnParallel(2048, 256)]
                public partial Linear Second { get; }
            }
            """, "AllGather");
        AssertRejected(errors, "pass.ColumnParallel(", from: "ColumnShards", to: "Replicated");
    }

    [Fact]
    public void ColumnShardsIntoABlockNormDoNotCompile()
    {
        var errors = CompileWithout("""
            using ShardGen;
            namespace Demo;

            [ShardedModel(Devices = 4)]
            public partial class Gpt
            {
                [ColumnParallel(128, 256)]
                public partial Linear Embed { get; }

                [TransformerBlock(256, 8)]
                public partial TransformerBlock Block0 { get; }
            }
            """, "AllGather");
        // The norm has an overload per placement it reads (replicated, token shards): column shards fit none.
        AssertRejected(errors, "pass.AttentionNorm(", from: "ColumnShards", to: null);
    }

    [Fact]
    public void PartialSumsIntoDownloadDoNotCompile()
    {
        var errors = CompileWithout("""
            using ShardGen;
            namespace Demo;

            [ShardedModel]
            public partial class Mlp
            {
                [ColumnParallel(1024, 4096, Activation = Activation.Gelu)]
                public partial Linear Up { get; }

                [RowParallel(4096, 1024, Bias = false)]
                public partial Linear Down { get; }
            }
            """, "AllReduce");
        AssertRejected(errors, "pass.Download(", from: "PartialSums", to: null);
    }

    /// <summary>
    /// Generates <paramref name="model"/>, asserts the generated code compiles cleanly, then replaces the first
    /// <c>var aN = pass.{transition}(aM);</c> with <c>var aN = aM;</c> and returns the errors of that compilation.
    /// </summary>
    private static IReadOnlyList<Diagnostic> CompileWithout(string model, string transition)
    {
        var output = GeneratorHarness.Run(model);
        Assert.Empty(output.Diagnostics);
        output.AssertCompilesCleanly();

        var generated = Assert.Single(output.Sources);
        var tree = output.Output.SyntaxTrees.Single(t => t.FilePath == generated.SyntaxTree.FilePath);
        string source = generated.SourceText.ToString();
        var step = new Regex($@"var (a\d+) = pass\.{transition}\((a\d+)\);").Match(source);
        Assert.True(step.Success, $"the generated Forward has no {transition}:\n{source}");
        string edited = source.Remove(step.Index, step.Length)
            .Insert(step.Index, $"var {step.Groups[1].Value} = {step.Groups[2].Value};");

        var wrong = output.Output.ReplaceSyntaxTree(tree, GeneratorHarness.ParseFile(tree.FilePath, edited));
        return wrong.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
    }

    /// <summary>
    /// At least one error, all of them argument mismatches, one on the line that calls <paramref name="consumer"/>,
    /// saying it cannot convert the <paramref name="from"/> placement (to <paramref name="to"/>, when one overload).
    /// </summary>
    private static void AssertRejected(IReadOnlyList<Diagnostic> errors, string consumer, string from, string? to)
    {
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.True(e.Id is "CS1503", $"{e.Id}: {e.GetMessage()}"));
        var atConsumer = errors.Where(e => LineOf(e).Contains(consumer)).ToList();
        Assert.True(atConsumer.Count > 0,
            $"no error at {consumer}; errors: {string.Join("; ", errors.Select(e => $"{LineOf(e)} → {e.GetMessage()}"))}");
        string message = atConsumer[0].GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains($"cannot convert from '{Placements}ShardedTensor<{Placements}{from}>'", message);
        if (to is not null) Assert.Contains($"to '{Placements}ShardedTensor<{Placements}{to}>'", message);
    }

    private static string LineOf(Diagnostic d) =>
        d.Location.SourceTree!.GetText().Lines[d.Location.GetLineSpan().StartLinePosition.Line].ToString();
}
