using System;
using System.Collections.Generic;
using ShardGen.Planning;
using ShardGen.Planning.Steps;

namespace ShardGen.Generators.Emitting;

/// <summary>
/// The residual stream in a generated backward (a language model's ForwardBackward, a float model's Backward): every
/// tensor a residual add works on or adds shares one gradient, <see cref="Gradient"/>, which the residual adds pass on
/// and the norms' backwards add into; it is declared once, where the first step's backward writes it.
/// </summary>
internal static class ResidualStream
{
    /// <summary>The gradient of every residual-stream tensor: one accumulator through the whole backward.</summary>
    public const string Gradient = "dStream";

    /// <summary>The stream's variables: a stack's loop variable and every tensor a residual add works on or adds.</summary>
    public static HashSet<string> Variables(IReadOnlyList<PlanStep> steps, string[] variables)
    {
        var stream = new HashSet<string> { StepContext.StreamVariable };
        for (int k = 0; k < steps.Count; k++)
        {
            if (steps[k].Type.Call != StepCall.BlockResidual) continue;
            stream.Add(variables[k]);
            stream.Add(variables[steps[k].ResidualStep]);
        }
        return stream;
    }

    /// <summary>
    /// <c>var g7</c> the first time a gradient is written; a second would mean the residual stream's gradient is made
    /// twice instead of added into, which the catalog's calls rule out.
    /// </summary>
    public static string Declare(string gradient, HashSet<string> declared) =>
        declared.Add(gradient) ? $"var {gradient}" : throw new InvalidOperationException($"The backward writes {gradient} twice.");
}
