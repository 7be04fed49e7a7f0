using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Planning;

namespace ShardGen;

/// <summary>
/// A model, weight or input that cannot be sharded as declared. Thrown before any device state changes,
/// so the mesh and any existing model stay usable. The message names the layer, the numbers and the fix.
/// </summary>
public class ShardingException : Exception
{
    public ShardingException(string message) : base(message) => Problems = Array.Empty<ShardProblem>();

    public ShardingException(IReadOnlyList<ShardProblem> problems)
        : base(string.Join(Environment.NewLine, problems.Select(p => $"{p.Id}: {p.Message}"))) => Problems = problems;

    /// <summary>The broken rules, with the same IDs as the compile-time diagnostics (empty for input errors).</summary>
    public IReadOnlyList<ShardProblem> Problems { get; }
}
