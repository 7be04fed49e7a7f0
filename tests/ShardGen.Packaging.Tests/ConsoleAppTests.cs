using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;

namespace ShardGen.Packaging.Tests;

/// <summary>
/// A developer's first use: a fresh <c>dotnet new console</c> app that only adds the package and pastes the README's
/// Program.cs must build with warnings as errors and run a 2-device model correctly. Each app restores into its own
/// empty NuGet cache, so nothing from this repository's build (or an older ShardGen 0.1.0 in the usual cache) is used.
/// </summary>
[Collection(PackedSolutionCollection.Name)]
public sealed class ConsoleAppTests(PackedSolution packed)
{
    [Fact]
    public void ReadmeProgram_BuildsAndRuns_InAFreshAppThatOnlyAddsShardGen() =>
        BuildAndRunReadmeProgram("ShardGen", fromFolderOnly: true);

    /// <summary>
    /// ShardGen (and with it the generator) flows to an app that adds only a backend. As in the README, the package is
    /// added from the folder registered as a source (the NuGet.Config below) without <c>--source</c>, which would hide
    /// the machine's usual source that ILGPU restores from.
    /// </summary>
    [Fact]
    public void ReadmeProgram_BuildsAndRuns_InAFreshAppThatOnlyAddsShardGenIlgpu() =>
        BuildAndRunReadmeProgram("ShardGen.Ilgpu", fromFolderOnly: false);

    private void BuildAndRunReadmeProgram(string package, bool fromFolderOnly)
    {
        packed.Pack.ShouldSucceed();
        string program = ReadmeProgram.Read(packed.RepositoryRoot);
        string root = TempFolder.Create("shardgen-consumer");
        try
        {
            string app = Path.Combine(root, "App");
            // The package folder registered beside the machine's usual sources (the user's NuGet.Config still applies).
            File.WriteAllText(Path.Combine(root, "NuGet.Config"),
                $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="shardgen-packed" value="{packed.Folder}" />
                  </packageSources>
                </configuration>
                """);
            var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(root, "nuget-cache") };

            DotnetProcess.Run(root, ["new", "console", "-o", app, "-n", "App"], environment).ShouldSucceed();
            string[] add = fromFolderOnly ? ["add", "package", package, "--source", packed.Folder] : ["add", "package", package];
            DotnetProcess.Run(app, add, environment).ShouldSucceed();
            File.WriteAllText(Path.Combine(app, "Program.cs"), program);
            DotnetProcess.Run(app, ["build", "-c", "Release", "-warnaserror"], environment).ShouldSucceed();
            var run = DotnetProcess.Run(app, ["run", "-c", "Release", "--no-build"], environment, timeoutSeconds: 120).ShouldSucceed();

            CheckOutput(program, run);
        }
        finally
        {
            TempFolder.Delete(root);
        }
    }

    /// <summary>The plan and the measured bytes are a ring all-reduce's, and the output matches the program's double reference.</summary>
    private static void CheckOutput(string program, DotnetResult run)
    {
        string output = run.Output;
        Assert.True(output.Contains("Plan of Mlp on 2 devices", StringComparison.Ordinal), "no plan for 2 devices printed\n" + run.Describe());

        // The sizes are the README program's own constants.
        var sizes = Regex.Match(program, @"const int tokens = (\d+), features = (\d+)");
        Assert.True(sizes.Success, "the README's Program.cs no longer declares `const int tokens = …, features = …`; update this test with it");
        long tokens = long.Parse(sizes.Groups[1].Value, CultureInfo.InvariantCulture);
        long features = long.Parse(sizes.Groups[2].Value, CultureInfo.InvariantCulture);
        const int devices = 2;
        long ringBytesPerDevice = 2 * (devices - 1) * tokens * features * sizeof(float) / devices;

        var measured = Regex.Match(output, @"Last forward: 1 all-reduce; ([\d,]+) B sent in total, ([\d,]+) B per device");
        Assert.True(measured.Success, "no `Last forward: 1 all-reduce; …` line\n" + run.Describe());
        Assert.Equal(ringBytesPerDevice, ParseBytes(measured.Groups[2].Value));
        Assert.Equal(ringBytesPerDevice * devices, ParseBytes(measured.Groups[1].Value));
        var planned = Regex.Match(output, @"per forward: 1 all-reduce; ([\d,]+) B per device");
        Assert.True(planned.Success, "the plan has no `per forward: 1 all-reduce; … B per device` line\n" + run.Describe());
        Assert.Equal(ringBytesPerDevice, ParseBytes(planned.Groups[1].Value));

        var error = Regex.Match(output, @"Max error against the double-precision reference: (\S+)");
        Assert.True(error.Success, "no max error printed\n" + run.Describe());
        double maxError = double.Parse(error.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
        Assert.True(maxError < 1e-4, $"max relative error {maxError:E2} ≥ 1e-4\n" + run.Describe());
    }

    private static long ParseBytes(string text) => long.Parse(text.Replace(",", ""), CultureInfo.InvariantCulture);
}
