extern alias gen;

using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using ShardGen.Generators.Tests.Helpers;
using gen::ShardGen.Generators.Parsing;

namespace ShardGen.Generators.Tests;

/// <summary>
/// Random projects, fresh each run (the seed is in every failure message), generated with and without the
/// syntactic reader: the files and diagnostics must be identical, for a first run and after random edits
/// through one driver. The projects mix plain models with every kind of input the syntactic reader must hand to the
/// semantic parser, valid and invalid layer chains, and every named argument of <see cref="AttributeTable"/> (so an
/// argument added to the table is fuzzed through both readers with no change here).
/// </summary>
public class SyntacticReaderFuzzTests
{
    private static readonly int[] Widths = { 32, 64, 96, 128 };

    [Fact]
    public void RandomProjectsGiveTheSameResultsBothWays()
    {
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        for (int project = 0; project < 25; project++)
        {
            var files = Enumerable.Range(0, random.Next(1, 5)).Select(f => ($"F{f}.cs", RandomFile(random, f))).ToArray();
            var compilation = GeneratorHarness.CreateCompilation(files);
            AssertSame(GeneratorHarness.RunFresh(compilation, syntactic: false), GeneratorHarness.RunFresh(compilation), seed, project, files);
        }
    }

    [Fact]
    public void RandomEditsThroughOneDriverGiveTheSameResultsAsFreshRuns()
    {
        int seed = Random.Shared.Next();
        var random = new Random(seed);
        var files = Enumerable.Range(0, 4).Select(f => ($"F{f}.cs", RandomFile(random, f))).ToArray();
        var compilation = GeneratorHarness.CreateCompilation(files);
        GeneratorDriver driver = GeneratorHarness.CreateDriver();
        for (int edit = 0; edit < 20; edit++)
        {
            int f = random.Next(files.Length);
            files[f] = (files[f].Item1, RandomFile(random, f));
            compilation = GeneratorHarness.EditFile(compilation, files[f].Item1, files[f].Item2);
            driver = driver.RunGenerators(compilation);
            AssertSame(GeneratorHarness.RunFresh(compilation, syntactic: false), driver.GetRunResult().Results.Single(), seed, edit, files);
        }
    }

    private static void AssertSame(GeneratorRunResult semantic, GeneratorRunResult syntactic, int seed, int round, (string, string)[] files)
    {
        try
        {
            SyntacticAssert.SameResults(semantic, syntactic);
        }
        catch (Exception e)
        {
            var sources = string.Join("\n", files.Select(f => $"// {f.Item1}\n{f.Item2}"));
            throw new Xunit.Sdk.XunitException($"seed {seed}, round {round}: {e.Message}\n{sources}");
        }
    }

    /// <summary>One file: a namespace, maybe a perturbation of how names bind, and one or two models.</summary>
    private static string RandomFile(Random random, int index)
    {
        var sb = new StringBuilder();
        sb.AppendLine("using ShardGen;");
        switch (random.Next(12))
        {
            case 0: sb.AppendLine("using L = ShardGen.Linear;"); break;
            case 1: sb.AppendLine("using static System.Math;"); break;
            case 2: sb.AppendLine("global using System.Text;"); break;
        }
        bool fileScoped = random.Next(2) == 0;
        string ns = random.Next(6) == 0 ? "" : $"Fuzz.N{random.Next(3)}";
        if (ns.Length > 0) sb.AppendLine(fileScoped ? $"namespace {ns};" : $"namespace {ns} {{");
        switch (random.Next(14))
        {
            case 0: sb.AppendLine("public class Linear { }"); break;
            case 1: sb.AppendLine("public enum Activation { None }"); break;
            case 2: sb.AppendLine($"public partial class M{index}x0 {{ public int Extra => 1; }}"); break; // a second part
        }
        int models = random.Next(1, 3);
        for (int m = 0; m < models; m++) AppendModel(sb, random, $"M{index}x{m}");
        if (ns.Length > 0 && !fileScoped) sb.AppendLine("}");
        return sb.ToString();
    }

    private static void AppendModel(StringBuilder sb, Random random, string name)
    {
        int kind = random.Next(4);
        bool blocks = kind == 0, languageModel = kind == 1;
        var args = new List<string>();
        if (random.Next(2) == 0) args.Add($"Devices = {new[] { 0, 1, 2, 3, 4, -1 }[random.Next(6)]}");
        if (random.Next(4) == 0) args.Add($"SequenceParallel = {(random.Next(2) == 0 ? "true" : "false")}");
        sb.AppendLine(args.Count == 0 ? "[ShardedModel]" : $"[ShardedModel({string.Join(", ", args)})]");
        string modifiers = random.Next(8) switch { 0 => "public sealed partial", 1 => "internal partial", 2 => "public partial", _ => "public partial" };
        string baseList = random.Next(10) == 0 ? " : System.Object" : "";
        sb.AppendLine($"{modifiers} class {name}{baseList}");
        sb.AppendLine("{");
        if (random.Next(8) == 0) sb.AppendLine("    private const int Width = 64;");
        if (random.Next(10) == 0) sb.AppendLine("    public void Forward() { }"); // reserved name
        int width = Widths[random.Next(Widths.Length)];
        if (languageModel)
        {
            AppendLanguageModelLayers(sb, random, width);
            sb.AppendLine("}");
            return;
        }
        int layers = random.Next(0, 5);
        for (int l = 0; l < layers; l++)
        {
            if (blocks)
            {
                var named = RandomNamedArguments(AttributeTable.LayerNamed("TransformerBlock")!, random, width);
                sb.AppendLine($"    [TransformerBlock({width}, 4{string.Concat(named.Select(n => ", " + n))})]");
                sb.AppendLine($"    public partial TransformerBlock B{l} {{ get; }}");
                continue;
            }
            string strategy = new[] { "ColumnParallel", "RowParallel", "Summa2D", "ColumnParallelAttribute" }[random.Next(4)];
            int next = Widths[random.Next(Widths.Length)];
            string inText = random.Next(12) == 0 ? "Width" : (random.Next(10) == 0 ? width + 1 : width).ToString();
            var linearNamed = RandomNamedArguments(AttributeTable.LayerNamed("ColumnParallel")!, random, width);
            sb.AppendLine($"    [{strategy}({inText}, {next}{string.Concat(linearNamed.Select(n => ", " + n))})]");
            string type = random.Next(15) == 0 ? "Linear?" : "Linear";
            string partial = random.Next(15) == 0 ? "" : "partial ";
            sb.AppendLine($"    public {partial}{type} P{l} {{ get; }}");
            width = next;
        }
        sb.AppendLine("}");
    }

    /// <summary>
    /// The layers of a language model in their order, now and then one left out, two swapped or one repeated, each with
    /// random named arguments (sizes 0, open, among them) and a final norm's kind written every way.
    /// </summary>
    private static void AppendLanguageModelLayers(StringBuilder sb, Random random, int width)
    {
        var layers = new List<(string Attribute, string Type, string Name)>
        {
            ("VocabParallelEmbedding", "Embedding", "Embed"), ("PositionEmbedding", "Embedding", "Positions"),
            ("TransformerStack", "TransformerStack", "Layers"), ("FinalNorm", "Norm", "FinalNorm"), ("LmHead", "Linear", "Head"),
        };
        layers.RemoveAll(_ => random.Next(6) == 0);
        if (layers.Count > 1 && random.Next(6) == 0)
        {
            int i = random.Next(layers.Count - 1);
            (layers[i], layers[i + 1]) = (layers[i + 1], layers[i]);
        }
        if (layers.Count > 0 && random.Next(8) == 0)
        {
            var repeated = layers[random.Next(layers.Count)];
            layers.Add((repeated.Attribute, repeated.Type, repeated.Name + "2"));
        }
        if (random.Next(8) == 0) layers.Insert(random.Next(layers.Count + 1), ("ColumnParallel", "Linear", "Extra"));
        foreach (var (attribute, type, name) in layers)
        {
            var arguments = new List<string>();
            if (attribute == "ColumnParallel") arguments.Add($"{width}, {width}");
            if (attribute == "FinalNorm")
                arguments.Add(random.Next(8) == 0 ? "(NormKind)5" : random.Next(2) == 0 ? "NormKind.RmsNorm" : "NormKind.LayerNorm");
            arguments.AddRange(RandomNamedArguments(AttributeTable.LayerNamed(attribute)!, random, width));
            sb.AppendLine(arguments.Count == 0 && random.Next(2) == 0 ? $"    [{attribute}]" : $"    [{attribute}({string.Join(", ", arguments)})]");
            sb.AppendLine($"    public partial {type} {name} {{ get; }}");
        }
    }

    /// <summary>
    /// Each named argument of <paramref name="attribute"/> with probability 1/3, in random order, as a literal of its
    /// type (now and then one the syntactic reader must leave to the parser: an int for a float, an undefined enum value).
    /// </summary>
    private static List<string> RandomNamedArguments(AttributeDescription attribute, Random random, int width)
    {
        var named = new List<string>();
        foreach (var argument in attribute.Named)
        {
            if (random.Next(3) != 0) continue;
            string value = argument.Type switch
            {
                ArgumentType.Int => new[] { 0, 1, 2, 4, 2 * width, -1 }[random.Next(6)].ToString(),
                ArgumentType.Bool => random.Next(2) == 0 ? "true" : "false",
                ArgumentType.Float => new[] { "1e-6f", "1e-5f", "1" }[random.Next(3)],
                _ => random.Next(12) == 0
                    ? $"({argument.EnumType!.Name})9"
                    : $"{argument.EnumType!.Name}.{argument.EnumMembers[random.Next(argument.EnumMembers.Length)]}",
            };
            named.Add($"{argument.Name} = {value}");
        }
        Shuffle(named, random);
        return named;
    }

    private static void Shuffle(List<string> items, Random random)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
