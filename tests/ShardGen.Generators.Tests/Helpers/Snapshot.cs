using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Xunit.Sdk;

namespace ShardGen.Generators.Tests.Helpers;

/// <summary>
/// A small stand-in for Verify with its conventions, so moving to Verify.Xunit is one line per test:
/// <c>{TestClass}.{TestMethod}.verified.{ext}</c> next to the test file; on a mismatch or a missing snapshot
/// it writes <c>.received.{ext}</c> and fails with a diff excerpt. It never accepts anything by itself:
/// inspect the received file, then rename it to verified.
/// </summary>
public static class Snapshot
{
    private static readonly Regex GeneratorVersion =
        new(@"GeneratedCode\(""ShardGen\.Generators"", ""[^""]*""\)", RegexOptions.Compiled);

    public static Task Verify(string text, string extension = "txt",
        [CallerFilePath] string sourceFile = "", [CallerMemberName] string testMethod = "")
    {
        VerifyCore(text, extension, sourceFile, testMethod);
        return Task.CompletedTask;
    }

    /// <summary>The text as stored: "\n" line endings, the generator's version replaced by a placeholder.</summary>
    public static string Scrub(string text) =>
        GeneratorVersion.Replace(text.Replace("\r\n", "\n"), @"GeneratedCode(""ShardGen.Generators"", ""{version}"")");

    private static void VerifyCore(string text, string extension, string sourceFile, string testMethod)
    {
        string directory = Path.GetDirectoryName(sourceFile) ?? throw new InvalidOperationException("No caller file path.");
        string stem = Path.Combine(directory, $"{Path.GetFileNameWithoutExtension(sourceFile)}.{testMethod}");
        string verifiedPath = $"{stem}.verified.{extension}", receivedPath = $"{stem}.received.{extension}";
        string received = Scrub(text);

        if (File.Exists(verifiedPath))
        {
            string verified = File.ReadAllText(verifiedPath).Replace("\r\n", "\n");
            if (verified == received)
            {
                if (File.Exists(receivedPath)) File.Delete(receivedPath);
                return;
            }
            File.WriteAllText(receivedPath, received, new UTF8Encoding(false));
            throw new XunitException($"Snapshot mismatch: {Path.GetFileName(verifiedPath)}\n{DiffExcerpt(verified, received)}\n" +
                $"Received: {receivedPath}\nIf the change is intended, inspect it and replace the verified file with it.");
        }
        File.WriteAllText(receivedPath, received, new UTF8Encoding(false));
        throw new XunitException($"No verified snapshot yet: {Path.GetFileName(verifiedPath)}.\n" +
            $"Received: {receivedPath}\nInspect it, then rename it to .verified.{extension}.");
    }

    /// <summary>The first differing line with a few lines of context, expected and received.</summary>
    private static string DiffExcerpt(string expected, string actual)
    {
        string[] e = expected.Split('\n'), a = actual.Split('\n');
        int first = 0;
        while (first < e.Length && first < a.Length && e[first] == a[first]) first++;
        var sb = new StringBuilder();
        sb.AppendLine($"First difference at line {first + 1} (verified has {e.Length} lines, received {a.Length}):");
        for (int i = Math.Max(0, first - 2); i < Math.Min(Math.Max(e.Length, a.Length), first + 4); i++)
        {
            string ev = i < e.Length ? e[i] : "<end>", av = i < a.Length ? a[i] : "<end>";
            if (ev == av) sb.AppendLine($"  {i + 1,4}   {ev}");
            else
            {
                sb.AppendLine($"- {i + 1,4}   {ev}");
                sb.AppendLine($"+ {i + 1,4}   {av}");
            }
        }
        return sb.ToString();
    }
}
