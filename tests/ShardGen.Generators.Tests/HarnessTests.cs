using System.Linq;
using Microsoft.CodeAnalysis.CSharp;
using ShardGen.Generators.Tests.Helpers;
using Xunit.Sdk;

namespace ShardGen.Generators.Tests;

/// <summary>The checks other tests rely on can fail.</summary>
public class HarnessTests
{
    private const string Model = """
        using ShardGen;
        namespace Demo;
        [ShardedModel]
        public partial class Mlp
        {
            [ColumnParallel(4, 8)]
            public partial Linear Up { get; }
        }
        """;

    [Fact]
    public void CompileCheckReportsWarnings()
    {
        var output = GeneratorHarness.Run(Model);
        output.AssertCompilesCleanly();
        // A warning in generated-looking code (an unused variable) must fail the check.
        var bad = CSharpSyntaxTree.ParseText("namespace Demo { partial class Mlp { void M() { int unused = 0; } } }", GeneratorHarness.ParseOptions, "Bad.g.cs");
        var broken = output with { Output = output.Output.AddSyntaxTrees(bad) };
        Assert.Contains(broken.CompilationProblems(), d => d.Id == "CS0219");
        Assert.ThrowsAny<XunitException>(() => broken.AssertCompilesCleanly());
    }

    [Fact]
    public void SnapshotScrubsTheGeneratorVersion()
    {
        Assert.Equal("[GeneratedCode(\"ShardGen.Generators\", \"{version}\")]\n",
            Snapshot.Scrub("[GeneratedCode(\"ShardGen.Generators\", \"1.2.3.4\")]\r\n"));
    }

    [Fact]
    public void ReferencesIncludeTheRuntimeAndTheFramework()
    {
        var names = GeneratorHarness.References.Select(r => System.IO.Path.GetFileName(r.Display)).ToList();
        Assert.Contains("ShardGen.dll", names);
        Assert.Contains("System.Runtime.dll", names);
    }
}
