using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using static ShardGen.Ilgpu.Tests.Samples.SampleBackendTests;

namespace ShardGen.Ilgpu.Tests.Samples;

/// <summary>
/// The samples' --diagram FILE.svg option: the file is the plan the sample prints, written whole (no temporary file
/// left beside it); a path that cannot be written is one line on stderr and exit code 2.
/// </summary>
public sealed class SampleDiagramTests : IDisposable
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private readonly string _dir = Directory.CreateTempSubdirectory("shardgen-diagram-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void MegatronMlp_DrawsThePlanItPrints()
    {
        string file = Path.Combine(_dir, "mlp.svg");
        var run = RunSample("MegatronMlp", "--devices", "2", "--tokens", "16", "--diagram", file);
        Assert.True(run.ExitCode == 0, run.Describe());
        var svg = XDocument.Load(file).Root!;
        Assert.Equal(2, svg.Descendants(Svg + "g").Count(g => (string?)g.Attribute("class") == "lane"));
        // The printed plan's "per forward: …; N B per device" figure is the drawing's all-reduce band.
        string perDevice = Regex.Match(run.Output, @"per forward: 1 all-reduce; ([\d,]+) B per device").Groups[1].Value;
        Assert.NotEqual("", perDevice);
        Assert.Contains(svg.Descendants(Svg + "text"), t => t.Value == $"all-reduce · {perDevice} B/device");
        Assert.Equal(new[] { "mlp.svg" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void TransformerBlock_DrawsTheSequenceParallelBlockOnFourDevices()
    {
        string file = Path.Combine(_dir, "block.svg");
        File.WriteAllText(file, "an older drawing"); // replaced whole
        var run = RunSample("TransformerBlock", "--diagram", file);
        Assert.True(run.ExitCode == 0, run.Describe());
        var svg = XDocument.Load(file).Root!;
        Assert.Equal(4, svg.Descendants(Svg + "g").Count(g => (string?)g.Attribute("class") == "lane"));
        Assert.Contains("sequence parallel", svg.Element(Svg + "title")!.Value);
        Assert.Equal(new[] { "block.svg" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("MegatronMlp")]
    [InlineData("TransformerBlock")]
    public void UnwritablePath_IsOneLineError_ExitCode2(string sample)
    {
        string file = Path.Combine(_dir, "no-such-folder", "plan.svg");
        AssertOneLineError(RunSample(sample, "--diagram", file, "--devices", "2", "--tokens", "8"), $"--diagram '{file}' cannot be written: ");
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Theory]
    [InlineData("MegatronMlp")]
    [InlineData("TransformerBlock")]
    public void MissingFileName_IsOneLineError_ExitCode2(string sample) =>
        AssertOneLineError(RunSample(sample, "--diagram"), "--diagram needs a file name");
}
