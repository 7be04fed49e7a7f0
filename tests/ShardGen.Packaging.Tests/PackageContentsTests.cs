using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Xml.Linq;

namespace ShardGen.Packaging.Tests;

/// <summary>What <c>dotnet pack ShardGen.sln</c> produces: three packages laid out by NuGet's conventions.</summary>
[Collection(PackedSolutionCollection.Name)]
public sealed class PackageContentsTests(PackedSolution packed)
{
    private static readonly string[] Packages = ["ShardGen", "ShardGen.Ilgpu", "ShardGen.Mpi"];

    [Fact]
    public void OnlyTheRuntimeAndItsBackendsArePacked_EachWithSymbols()
    {
        packed.Pack.ShouldSucceed();
        var written = Directory.GetFiles(packed.Folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        var expected = Packages.SelectMany(id => new[] { $"{id}.{PackedSolution.Version}.nupkg", $"{id}.{PackedSolution.Version}.snupkg" })
                               .Order(StringComparer.Ordinal).ToArray();
        Assert.True(expected.SequenceEqual(written),
            $"Expected exactly {string.Join(", ", expected)} (samples, tests, benchmarks and the generator are not packages of their own); got {string.Join(", ", written)}");
    }

    [Fact]
    public void ShardGen_HasTheRuntimeInLib_AndTheGeneratorAsAnAnalyzer_AndNoDependencies()
    {
        var files = Entries("ShardGen");
        Assert.Contains("lib/net10.0/ShardGen.dll", files);
        Assert.Contains("analyzers/dotnet/cs/ShardGen.Generators.dll", files);
        // The generator is an analyzer only: a lib/ copy would make every consumer reference Roslyn's types.
        Assert.DoesNotContain(files, f => f.StartsWith("lib/", StringComparison.Ordinal) && f.Contains("Generators", StringComparison.Ordinal));

        // The analyzer is the generator this build made, byte for byte.
        string built = Path.Combine(packed.RepositoryRoot, "generators", "ShardGen.Generators", "bin", PackedSolution.Configuration,
                                    "netstandard2.0", "ShardGen.Generators.dll");
        Assert.Equal(File.ReadAllBytes(built), ReadEntry("ShardGen", "analyzers/dotnet/cs/ShardGen.Generators.dll"));

        // Roslyn comes with the compiler; the generator's own project is packed inside, not depended on.
        Assert.Empty(Dependencies("ShardGen"));
    }

    [Theory]
    [InlineData("ShardGen.Ilgpu")]
    [InlineData("ShardGen.Mpi")]
    public void Backend_HasItsAssemblyInLib_AndDependsOnExactlyThisShardGen(string id)
    {
        Assert.Contains($"lib/net10.0/{id}.dll", Entries(id));
        var dependencies = Dependencies(id);
        Assert.True(dependencies.TryGetValue("ShardGen", out var version),
            $"{id} does not depend on ShardGen; its dependencies: {Describe(dependencies)}");
        Assert.Equal($"[{PackedSolution.Version}]", version);

        // The generator is ShardGen's analyzer asset: an app that adds only the backend must get it too.
        var shardGen = Nuspec(id).Descendants().Single(e => e.Name.LocalName == "dependency" && e.Attribute("id")?.Value == "ShardGen");
        string excluded = shardGen.Attribute("exclude")?.Value ?? "";
        Assert.True(!excluded.Contains("Analyzers", StringComparison.OrdinalIgnoreCase),
            $"{id}'s dependency on ShardGen excludes its analyzers (exclude=\"{excluded}\"): set PrivateAssets=\"none\" on the project reference");
    }

    [Fact]
    public void ShardGenIlgpu_DependsOnIlgpu153()
    {
        var dependencies = Dependencies("ShardGen.Ilgpu");
        Assert.True(dependencies.TryGetValue("ILGPU", out var version), $"ShardGen.Ilgpu does not depend on ILGPU; its dependencies: {Describe(dependencies)}");
        Assert.Equal("1.5.3", version);
    }

    [Theory]
    [InlineData("ShardGen")]
    [InlineData("ShardGen.Ilgpu")]
    [InlineData("ShardGen.Mpi")]
    public void EveryPackage_HasVersionDescriptionLicenseReadmeAndSymbols(string id)
    {
        var metadata = Nuspec(id).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

        Assert.Equal(id, Value("id"));
        Assert.Equal(PackedSolution.Version, Value("version"));
        Assert.False(string.IsNullOrWhiteSpace(Value("description")), $"{id} has no description");
        Assert.False(string.IsNullOrWhiteSpace(Value("authors")), $"{id} has no authors");
        var license = metadata.Elements().Single(e => e.Name.LocalName == "license");
        Assert.Equal("expression", license.Attribute("type")?.Value);
        Assert.Equal("MIT", license.Value);

        // The readme is the repository's README, byte for byte.
        Assert.Equal("README.md", Value("readme"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(packed.RepositoryRoot, "README.md")), ReadEntry(id, "README.md"));

        using var symbols = ZipFile.OpenRead(packed.Package(id, "snupkg"));
        Assert.Contains(symbols.Entries, e => e.FullName == $"lib/net10.0/{id}.pdb");
    }

    private HashSet<string> Entries(string id)
    {
        using var zip = ZipFile.OpenRead(packed.Package(id));
        return zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
    }

    private byte[] ReadEntry(string id, string entry)
    {
        using var zip = ZipFile.OpenRead(packed.Package(id));
        var found = zip.GetEntry(entry) ?? throw new Xunit.Sdk.XunitException($"{id}.nupkg has no {entry}");
        using var stream = found.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private XDocument Nuspec(string id)
    {
        using var zip = ZipFile.OpenRead(packed.Package(id));
        using var stream = zip.GetEntry($"{id}.nuspec")!.Open();
        return XDocument.Load(stream);
    }

    /// <summary>Package id → version range of every dependency, over all target-framework groups.</summary>
    private Dictionary<string, string> Dependencies(string id) =>
        Nuspec(id).Descendants().Where(e => e.Name.LocalName == "dependency")
                   .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);

    private static string Describe(Dictionary<string, string> dependencies) =>
        dependencies.Count == 0 ? "none" : string.Join(", ", dependencies.Select(d => $"{d.Key} {d.Value}"));
}
