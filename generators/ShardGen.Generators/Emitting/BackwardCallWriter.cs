using System;
using System.Collections.Generic;
using ShardGen.Planning.Steps;

namespace ShardGen.Generators.Emitting;

/// <summary>
/// Writes one step's backward call from its catalog entry (<see cref="StepBackward.Call"/>), for every emitter that
/// writes a backward (a language model's ForwardBackward, a float model's Backward), and records which gradient local
/// now holds the gradient of the step's input.
/// </summary>
internal static class BackwardCallWriter
{
    /// <param name="gradient">The gradient local of each activation local, updated for the step's input.</param>
    /// <param name="input">The forward local the step read; <paramref name="x"/> is how the backward names it.</param>
    /// <param name="output">The forward local the step wrote.</param>
    /// <param name="dX">The gradient local for the input, when the call makes one.</param>
    /// <param name="declare">How a new gradient local is declared: "var g7".</param>
    public static void Write(SourceWriter w, BackwardStep b, Dictionary<string, string> gradient, string input, string output, string x,
        string layer, string dX, Func<string, string> declare)
    {
        string method = b.Backward.Method ?? "";
        switch (b.Backward.Call)
        {
            case BackwardCall.Loss:
                gradient[input] = dX;
                w.WriteLine($"{declare(dX)} = pass.{method}({x});");
                break;
            case BackwardCall.Identity:
                gradient[input] = gradient[output];
                break;
            case BackwardCall.Conjugate:
                gradient[input] = dX;
                w.WriteLine($"{declare(dX)} = pass.{method}({gradient[output]});");
                break;
            case BackwardCall.Gradient:
                gradient[input] = dX;
                string call = $"pass.{method}({gradient[output]}, {x}, {layer})";
                if (b.AllReducesInput) call = $"pass.{BackwardPlan.InputAllReduce.Method}({call})";
                w.WriteLine($"{declare(dX)} = {call};");
                break;
            case BackwardCall.AddsToInputGradient:
                w.WriteLine($"pass.{method}({gradient[output]}, {x}, {gradient[input]}, {layer});");
                break;
            case BackwardCall.Parameters:
                w.WriteLine($"pass.{method}({gradient[output]}, {layer});");
                break;
            default:
                throw new InvalidOperationException($"Step {b.Index + 1} ({b.Type.Name}) has no generated backward.");
        }
    }
}
