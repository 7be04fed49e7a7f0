using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using ShardGen.Generators.Tests.Helpers;

namespace ShardGen.Generators.Tests;

/// <summary>
/// The generated ForwardBackward, read back from the generated source: its forward is Forward's statements, and its
/// backward calls each forward step's backward in reverse order, reading the activation that step read. The pairs are
/// written out here (Megatron's f/g, all-gather ↔ reduce-scatter), not taken from the catalog under test.
/// </summary>
public class ForwardBackwardEmissionTests
{
    /// <summary>Each forward method's backward (null: identity, no call), written independently of the catalog.</summary>
    private static readonly Dictionary<string, string?> BackwardOf = new()
    {
        ["TokenEmbedding"] = "TokenEmbeddingBackward",
        ["PositionEmbedding"] = "PositionEmbeddingBackward",
        ["AllReduce"] = null,
        ["AllGather"] = "ReduceScatterTokens",
        ["ReduceScatterTokens"] = "AllGather",
        ["AttentionNorm"] = "AttentionNormBackward",
        ["QkvProjection"] = "QkvProjectionBackward",
        ["Attention"] = "AttentionBackward",
        ["AttentionOutput"] = "AttentionOutputBackward",
        ["AttentionResidual"] = "AttentionResidualBackward",
        ["MlpNorm"] = "MlpNormBackward",
        ["MlpUp"] = "MlpUpBackward",
        ["MlpDown"] = "MlpDownBackward",
        ["MlpResidual"] = "MlpResidualBackward",
        ["FinalNorm"] = "FinalNormBackward",
        ["LmHead"] = "LmHeadBackward",
        ["Download"] = "CrossEntropy",
    };

    /// <summary>The column-parallel launches whose dX is partial sums (Megatron's f before them).</summary>
    private static readonly string[] ColumnParallel = { "QkvProjectionBackward", "MlpUpBackward", "LmHeadBackward" };

    private const string Gpt2SequenceParallel = """
        using ShardGen;
        namespace Demo;

        [ShardedModel(Devices = 4, SequenceParallel = true)]
        public partial class TinyGpt2
        {
            [VocabParallelEmbedding(Vocab = 1001, Hidden = 64)] public partial Embedding Embed { get; }
            [PositionEmbedding(Positions = 128, Hidden = 64)] public partial Embedding Positions { get; }
            [TransformerStack(Layers = 3, Hidden = 64, Heads = 8, KvHeads = 8, FfnHidden = 256, NormEpsilon = 1e-5f,
                Norm = NormKind.LayerNorm, Mlp = MlpKind.Plain, Activation = Activation.GeluTanh, Rotary = false, Bias = true)]
            public partial TransformerStack Layers { get; }
            [FinalNorm(NormKind.LayerNorm, Hidden = 64, Epsilon = 1e-5f)] public partial Norm FinalNorm { get; }
            [LmHead(Vocab = 1001, Hidden = 64)] public partial Linear Head { get; }
        }
        """;

    public static TheoryData<string, bool> Models() => new()
    {
        { LanguageModelParsingTests.Llama, false },
        { LanguageModelParsingTests.Gpt2, false },
        { LanguageModelParsingTests.Pinned, false },
        { Gpt2SequenceParallel, true },
    };

    [Fact]
    public void SequenceParallelSumsAreCountedOverEveryBlock_PositionTableIncluded()
    {
        // Worked out by hand from Gpt2SequenceParallel: per block 2 LayerNorms (scale, shift) and 2 output biases of 64,
        // 3 blocks, the final LayerNorm's 2, and the position table 128 × 64: 21 all-reduces.
        const int Hidden = 64, Blocks = 3, P = 4;
        long elements = Blocks * 6L * Hidden + 2 * Hidden + 128L * Hidden;
        long perDevice = 2 * (P - 1) * elements * 4 / P;
        string source = GeneratorHarness.Run(Gpt2SequenceParallel).SingleSource;
        Assert.Contains("(norm scales and shifts, output biases, the position table)", source);
        Assert.Contains($"// {Blocks * 6 + 2 + 1} all-reduces, {elements} elements in all, 2(P−1)/P · {elements}·4 B = {perDevice} B per device.", source);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ForwardBackwardCompilesAndImplementsTheTrainingInterface(string source, bool sequenceParallel)
    {
        var output = GeneratorHarness.Run(source);
        Assert.Empty(output.Diagnostics);
        output.AssertCompilesCleanly();
        var model = output.Output.GetTypeByMetadataName(ModelName(output.SingleSource))!;
        Assert.Contains(model.AllInterfaces, i => i.ToDisplayString() == "ShardGen.ITrainableLanguageModel");
        Assert.Contains(model.GetMembers("ForwardBackward"), m => m.DeclaredAccessibility == Microsoft.CodeAnalysis.Accessibility.Public);
        Assert.Equal(sequenceParallel, output.SingleSource.Contains("SequenceParallel = true"));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ForwardBackwardRunsForwardsStatementsThenEachBackwardInReverse(string source, bool sequenceParallel)
    {
        var root = CSharpSyntaxTree.ParseText(GeneratorHarness.Run(source).SingleSource).GetRoot();
        var methods = root.DescendantNodes().OfType<MethodDeclarationSyntax>().ToList();
        var forward = methods.Single(m => m.Identifier.Text == "Forward" && m.ParameterList.Parameters.Count == 3);
        var training = methods.Single(m => m.Identifier.Text == "ForwardBackward");

        // Forward's calls, with the variable each reads (its first argument) and the loop they run in.
        var forwardCalls = PassCalls(forward);
        var trainingCalls = PassCalls(training);
        Assert.StartsWith("using var pass = _core.BeginTraining(inputIds, targetIds, sequenceLengths, gradientScale);", training.Body!.Statements[0].ToString());
        int loss = trainingCalls.FindIndex(c => c.Method == "CrossEntropy");
        Assert.True(loss > 0, "ForwardBackward computes no loss");

        // The forward part is Forward's statements up to the download, call for call and argument for argument.
        // KeptBlocks is bookkeeping, not a step: the array each block's activations are kept in, once, before the loop.
        var kept = trainingCalls.Take(loss).Where(c => c.Method == "KeptBlocks").ToList();
        Assert.True(kept is [{ InLoop: false }], $"ForwardBackward takes its kept-activations array {kept.Count} times, or inside the loop");
        var forwardPart = trainingCalls.Take(loss).Where(c => c.Method != "KeptBlocks").ToList();
        var expectedForward = forwardCalls.Where(c => c.Method != "Download").ToList();
        Assert.Equal(expectedForward.Select(c => c.Text), forwardPart.Select(c => c.Text));

        // The backward part: the forward's steps reversed, each mapped to its backward (identities leave no call).
        var backwardPart = trainingCalls.Skip(loss).Where(c => c.Method is not ("Loss" or "SumReplicatedGradients")).ToList();

        // Sequence parallel: the replicated parameters' partial gradients are summed explicitly, last, just before the loss.
        var statements = training.Body!.Statements;
        Assert.Equal(sequenceParallel, statements[^2].ToString() == "pass.SumReplicatedGradients();");
        Assert.Equal(sequenceParallel ? 1 : 0, trainingCalls.Count(c => c.Method == "SumReplicatedGradients"));
        var expected = forwardCalls.AsEnumerable().Reverse().Select(c => BackwardOf[c.Method]).Where(m => m is not null).Select(m => m!).ToList();
        var actual = backwardPart.Where(c => !c.IsInputAllReduce).Select(c => c.Method).ToList();
        Assert.Equal(expected, actual);

        // Megatron's f: each column-parallel dX is all-reduced, except where an all-gather's conjugate sums it (sequence parallel).
        foreach (var call in backwardPart.Where(c => ColumnParallel.Contains(c.Method)))
            Assert.Equal(!sequenceParallel, call.WrappedInAllReduce);

        // Each backward that reads an activation reads the one its forward step read (the loop's input is kept as blockInput).
        var readsOf = forwardCalls.GroupBy(c => c.Method).ToDictionary(g => g.Key, g => g.First().FirstArgument);
        foreach (var call in backwardPart.Where(c => c.Arguments.Count >= 3))
        {
            string forwardMethod = BackwardOf.Single(p => p.Value == call.Method).Key;
            string read = readsOf[forwardMethod] == "stream" && call.InLoop ? "blockInput" : readsOf[forwardMethod];
            Assert.Equal(read, call.Arguments[1]);
        }

        // The stack's blocks run backward: the second loop counts down.
        var loops = training.DescendantNodes().OfType<ForStatementSyntax>().ToList();
        Assert.Equal(2, loops.Count);
        Assert.Contains("i--", loops[1].Incrementors.ToString());
        Assert.Contains("return pass.Loss()", training.Body!.Statements.Last().ToString());
    }

    private sealed record PassCall(string Method, IReadOnlyList<string> Arguments, string Text, bool InLoop, bool WrappedInAllReduce, bool IsInputAllReduce)
    {
        public string FirstArgument => Arguments.Count > 0 ? Arguments[0] : "";
    }

    /// <summary>The <c>pass.X(…)</c> calls of a method body in source order (an inner call before the call that wraps it).</summary>
    private static List<PassCall> PassCalls(MethodDeclarationSyntax method)
    {
        var calls = new List<PassCall>();
        foreach (var invocation in method.Body!.DescendantNodes().OfType<InvocationExpressionSyntax>().OrderBy(i => i.SpanStart))
        {
            if (invocation.Expression is not MemberAccessExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.Text: "pass" } } access) continue;
            string name = access.Name.Identifier.Text;
            var arguments = invocation.ArgumentList.Arguments.Select(a => a.ToString()).ToList();
            bool inLoop = invocation.Ancestors().OfType<ForStatementSyntax>().Any();
            bool wrapped = invocation.Parent?.Parent?.Parent is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.Text: "AllReduce" } };
            bool inputAllReduce = name == "AllReduce" && arguments.Count == 1 && arguments[0].StartsWith("pass.");
            calls.Add(new PassCall(name, arguments, invocation.ToString(), inLoop, wrapped, inputAllReduce));
        }
        // An all-reduce wrapping a backward comes after the call it wraps, as it runs.
        for (int j = 0; j + 1 < calls.Count; j++)
        {
            if (calls[j].IsInputAllReduce)
                (calls[j], calls[j + 1]) = (calls[j + 1], calls[j]);
        }
        return calls;
    }

    private static string ModelName(string generated)
    {
        var root = CSharpSyntaxTree.ParseText(generated).GetRoot();
        var type = root.DescendantNodes().OfType<ClassDeclarationSyntax>().First();
        string ns = root.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>().First().Name.ToString();
        return $"{ns}.{type.Identifier.Text}";
    }
}
