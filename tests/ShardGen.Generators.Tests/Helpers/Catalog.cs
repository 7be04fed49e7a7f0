extern alias gen;

using System.Collections.Generic;
using System.Linq;
using Descriptors = gen::ShardGen.Generators.Diagnostics.DiagnosticDescriptors;

namespace ShardGen.Generators.Tests.Helpers;

/// <summary>The generator's diagnostic catalog, seen from the tests.</summary>
public static class Catalog
{
    public static IReadOnlyList<string> Ids => Descriptors.All.Select(d => d.Id).ToList();

    /// <summary>Each descriptor's ID and help link.</summary>
    public static IReadOnlyList<(string Id, string HelpLink)> HelpLinks => Descriptors.All.Select(d => (d.Id, d.HelpLinkUri)).ToList();
}
