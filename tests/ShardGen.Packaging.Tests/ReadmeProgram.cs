using System;
using System.IO;

namespace ShardGen.Packaging.Tests;

/// <summary>The complete Program.cs of the README's "Use it in your project" section, read from README.md so the two cannot drift.</summary>
public static class ReadmeProgram
{
    public const string Section = "## Use it in your project";

    /// <summary>The first csharp code block after the section's heading.</summary>
    public static string Read(string repositoryRoot)
    {
        string readme = File.ReadAllText(Path.Combine(repositoryRoot, "README.md")).Replace("\r\n", "\n");
        int section = readme.IndexOf("\n" + Section + "\n", StringComparison.Ordinal);
        if (section < 0) throw new InvalidOperationException($"README.md has no section \"{Section}\".");
        const string fence = "\n```csharp\n";
        int start = readme.IndexOf(fence, section, StringComparison.Ordinal);
        int nextSection = readme.IndexOf("\n## ", section + 1, StringComparison.Ordinal);
        if (start < 0 || (nextSection >= 0 && start > nextSection))
            throw new InvalidOperationException($"README.md's section \"{Section}\" has no ```csharp block.");
        start += fence.Length;
        int end = readme.IndexOf("\n```", start, StringComparison.Ordinal);
        return readme[start..(end + 1)];
    }
}
