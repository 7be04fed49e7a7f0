using System;
using System.IO;
using System.Linq;
using System.Reflection;

namespace ShardGen.Packaging.Tests;

/// <summary>
/// <c>dotnet pack ShardGen.sln</c> into a temporary folder, once for all the tests of the collection. The projects
/// were built by this project's references (same configuration), so the pack does not build again.
/// </summary>
public sealed class PackedSolution : IDisposable
{
    public PackedSolution()
    {
        RepositoryRoot = FindRepositoryRoot();
        Folder = TempFolder.Create("shardgen-packages");
        Pack = DotnetProcess.Run(RepositoryRoot,
            ["pack", "ShardGen.sln", "-c", Configuration, "-o", Folder, "--no-build"], timeoutSeconds: 300);
    }

    /// <summary>The folder holding ShardGen.sln and README.md.</summary>
    public string RepositoryRoot { get; }

    /// <summary>The folder the packages were written to.</summary>
    public string Folder { get; }

    /// <summary>The pack command's result (its output goes into every failure message about the packages).</summary>
    public DotnetResult Pack { get; }

    /// <summary>The configuration these tests were built in (Release under the README's test command).</summary>
    public static string Configuration { get; } =
        typeof(PackedSolution).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    public const string Version = "0.1.0";

    /// <summary>The path of <c>id.0.1.0.nupkg</c>, after checking the pack succeeded and wrote it.</summary>
    public string Package(string id, string extension = "nupkg")
    {
        Pack.ShouldSucceed();
        string path = Path.Combine(Folder, $"{id}.{Version}.{extension}");
        Assert.True(File.Exists(path),
            $"dotnet pack wrote no {Path.GetFileName(path)}; the folder has: {string.Join(", ", Directory.GetFiles(Folder).Select(Path.GetFileName))}\n{Pack.Describe()}");
        return path;
    }

    public void Dispose() => TempFolder.Delete(Folder);

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ShardGen.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No ShardGen.sln above {AppContext.BaseDirectory}: run the tests from the repository.");
    }
}

[CollectionDefinition(Name)]
public sealed class PackedSolutionCollection : ICollectionFixture<PackedSolution>
{
    public const string Name = "packed solution";
}

/// <summary>Temporary folders under the system temp folder, removed at the end.</summary>
public static class TempFolder
{
    public static string Create(string prefix)
    {
        string path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        try { Directory.Delete(path, recursive: true); }
        catch (IOException) { } // a file still open by a finished child process: the temp folder is cleaned later
        catch (UnauthorizedAccessException) { }
    }
}
