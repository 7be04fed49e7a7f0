using System;
using System.Collections.Generic;
using ShardGen.Planning;

namespace ShardGen.Generators.Parsing;

/// <summary>
/// Turns a layer attribute's arguments into a <see cref="LayerSpec"/>: the two positional numbers and the named
/// arguments as constant values (enums as their int value), however they were read (bound by the compiler in
/// <see cref="ModelParser"/>, or taken from literals in <see cref="SyntacticModelReader"/>). Defaults live here
/// only, so both readers resolve them the same way.
/// </summary>
internal static class LayerArguments
{
    /// <summary>An enum argument outside its enum (SHARD016): the property, the value as written, the enum's name.</summary>
    public readonly struct Undefined
    {
        public Undefined(string property, int value, string @enum)
        {
            Property = property;
            Value = value.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Enum = @enum;
        }

        public string Property { get; }
        public string Value { get; }
        public string Enum { get; }
    }

    /// <summary>
    /// The layer <paramref name="name"/> declares; (null, null) when a named argument is unknown or of the wrong
    /// type (the compiler reports those), or (null, undefined) for an enum value outside its enum.
    /// </summary>
    public static (LayerSpec? Spec, Undefined? Undefined) Read(ParallelStrategy strategy, string name, int first, int second,
        IReadOnlyList<KeyValuePair<string, object?>> named) =>
        strategy == ParallelStrategy.TransformerBlock
            ? ReadBlock(name, first, second, named)
            : ReadLinear(strategy, name, first, second, named);

    private static (LayerSpec? Spec, Undefined? Undefined) ReadLinear(ParallelStrategy strategy, string name, int inFeatures, int outFeatures,
        IReadOnlyList<KeyValuePair<string, object?>> named)
    {
        bool bias = true;
        var activation = Activation.None;
        var weightLayout = WeightLayout.InOut;
        foreach (var argument in named)
        {
            switch (argument.Key)
            {
                case "Bias" when argument.Value is bool b:
                    bias = b;
                    break;
                case "Activation" when argument.Value is int a:
                    if (!Enum.IsDefined(typeof(Activation), a)) return (null, new Undefined("Activation", a, "Activation"));
                    activation = (Activation)a;
                    break;
                case "WeightLayout" when argument.Value is int w:
                    if (!Enum.IsDefined(typeof(WeightLayout), w)) return (null, new Undefined("WeightLayout", w, "WeightLayout"));
                    weightLayout = (WeightLayout)w;
                    break;
                default:
                    return (null, null);
            }
        }
        return (new LayerSpec(name, strategy, inFeatures, outFeatures, bias, activation, weightLayout), null);
    }

    /// <summary>
    /// A [TransformerBlock(hidden, heads)] with the attribute's defaults resolved (KvHeads 0 → heads,
    /// FfnHidden 0 → 4·hidden), so the emitted LayerSpecs state the real shape.
    /// </summary>
    private static (LayerSpec? Spec, Undefined? Undefined) ReadBlock(string name, int hidden, int heads,
        IReadOnlyList<KeyValuePair<string, object?>> named)
    {
        int kvHeads = 0, ffnHidden = 0;
        var norm = NormKind.LayerNorm;
        bool causal = true, bias = true;
        var activation = Activation.Gelu;
        float epsilon = 1e-5f;
        foreach (var argument in named)
        {
            switch (argument.Key)
            {
                case "KvHeads" when argument.Value is int kv:
                    kvHeads = kv;
                    break;
                case "FfnHidden" when argument.Value is int ffn:
                    ffnHidden = ffn;
                    break;
                case "Norm" when argument.Value is int n:
                    if (!Enum.IsDefined(typeof(NormKind), n)) return (null, new Undefined("Norm", n, "NormKind"));
                    norm = (NormKind)n;
                    break;
                case "Causal" when argument.Value is bool c:
                    causal = c;
                    break;
                case "Activation" when argument.Value is int a:
                    if (!Enum.IsDefined(typeof(Activation), a)) return (null, new Undefined("Activation", a, "Activation"));
                    activation = (Activation)a;
                    break;
                case "Bias" when argument.Value is bool b:
                    bias = b;
                    break;
                case "NormEpsilon" when argument.Value is float e:
                    epsilon = e;
                    break;
                default:
                    return (null, null);
            }
        }
        if (kvHeads == 0) kvHeads = heads;
        // 4·hidden past int.MaxValue would wrap around; say "not positive" instead (SHARD017) of planning nonsense.
        if (ffnHidden == 0) ffnHidden = hidden > int.MaxValue / 4 ? -1 : 4 * hidden;
        return (new LayerSpec(name, ParallelStrategy.TransformerBlock, hidden, hidden, bias, activation, WeightLayout.InOut)
        {
            Block = new TransformerSpec(heads, kvHeads, ffnHidden, norm, causal, epsilon),
        }, null);
    }
}
