using System.Collections.Generic;
using System.Globalization;
using ShardGen.Planning;

namespace ShardGen.Planning.Steps;

/// <summary>
/// Shapes and byte formulas in the words of the generated comments: symbolic (T tokens, F/P for 1D splits,
/// F/q for blocks of the q×q grid) when the device count is unset, concrete numbers when it is fixed.
/// The byte figures are the step types' own (<see cref="StepType.TotalBytes"/>), divided by P (per device).
/// </summary>
internal sealed class PlanText
{
    private readonly int _devices;
    private readonly int _q;

    public PlanText(int devices)
    {
        _devices = devices > 0 ? devices : 0;
        _q = _devices > 0 ? PlanCost.GridSide(_devices) : 0;
    }

    /// <summary>True when [ShardedModel(Devices = …)] fixes the device count.</summary>
    public bool Fixed => _devices > 0;

    /// <summary>The fixed device count, or 0.</summary>
    public int Devices => _devices;

    private bool FixedGrid => _q > 0;

    /// <summary>"P" or the device count.</summary>
    public string P => Fixed ? N(_devices) : "P";

    /// <summary>"q×q" or e.g. "2×2".</summary>
    public string Grid => FixedGrid ? $"{_q}×{_q}" : "q×q";

    /// <summary>F split over all devices: "4096/P" or "1024".</summary>
    public string OverP(int features) => Fixed ? N(features / _devices) : $"{N(features)}/P";

    /// <summary>A size split over all devices, named when it is read from config.json at load: "ffn/P", "ffn/2".</summary>
    public string SizeOverP(int features, string name) => features > 0 ? OverP(features) : $"{name}/{P}";

    /// <summary>
    /// A device's range of vocabulary rows: "250", "251 or 250" when it does not divide, "⌈32000/P⌉ or ⌊32000/P⌋",
    /// "⌈vocab/P⌉ or ⌊vocab/P⌋" for a vocabulary from config.json.
    /// </summary>
    public string VocabShard(int vocab)
    {
        if (!Fixed || vocab == 0) return $"⌈{Size(vocab, "vocab")}/{P}⌉ or ⌊{Size(vocab, "vocab")}/{P}⌋";
        return vocab % _devices == 0
            ? N(vocab / _devices)
            : $"{N(EvenRanges.Length(vocab, _devices, 0))} or {N(EvenRanges.Length(vocab, _devices, _devices - 1))}";
    }

    // ---- Sizes read from config.json at load are 0 in a LayerSpec: the words name them instead -------

    /// <summary>A size as the words print it: the number, or its name when config.json gives it at load (0): "hidden".</summary>
    public static string Size(long value, string name) => value > 0 ? N(value) : name;

    /// <summary>The head width: "64", or "head dim" when the hidden width or the head count comes from config.json.</summary>
    public static string HeadDim(TransformerSpec block, int hidden) => Size(block.HeadDim(hidden), "head dim");

    /// <summary>A parameter with its value, "ε = 1E-05", or "ε from config.json" when config.json gives it at load (0).</summary>
    public static string Setting(string symbol, float value) => value > 0 ? $"{symbol} = {Float(value)}" : $"{symbol} from config.json";

    /// <summary>F split over the grid side: "4096/q" or "2048".</summary>
    public string OverQ(int features) => FixedGrid ? N(features / _q) : $"{N(features)}/q";

    /// <summary>A token block of the grid: "T/q", "T/2", or "T" on a 1×1 grid.</summary>
    public string TokenBlock => !FixedGrid ? "T/q" : _q == 1 ? "T" : $"T/{_q}";

    /// <summary>A device's token block under sequence parallelism: "T/P", "T/4", or "T" on one device.</summary>
    public string TokenShard => !Fixed ? "T/P" : _devices == 1 ? "T" : $"T/{N(_devices)}";

    // ---- Transformer blocks: heads per device, from TransformerSpec's helpers when P is fixed ----------

    /// <summary>A count split over the devices, with its noun: "8/P query heads", "2 query heads", "1 query head".</summary>
    public string OverP(int count, string noun) =>
        count == 0 ? $"1/{P} of the {noun}s" : Fixed && count / _devices == 1 ? $"1 {noun}" : $"{OverP(count)} {noun}s";

    /// <summary>Width of a device's attention context: "(8/P)·64", or "128" on 4 devices.</summary>
    public string LocalHeadsWidth(TransformerSpec block, int hidden) =>
        Fixed && block.Heads > 0 && hidden > 0
            ? N((long)(block.Heads / _devices) * block.HeadDim(hidden))
            : $"({SizeOverP(block.Heads, "heads")})·{HeadDim(block, hidden)}";

    /// <summary>
    /// Width of a device's fused q|k|v: "(8/P + 2·2/P)·64" (symbolic; one KV head: "(8/P + 2·1)·64"),
    /// or "(2 + 2·1)·64 = 256" on 4 devices.
    /// </summary>
    public string LocalQkvWidth(TransformerSpec block, int hidden)
    {
        int dh = block.HeadDim(hidden);
        if (block.Heads == 0 || block.KvHeads == 0 || hidden == 0)
            return $"({SizeOverP(block.Heads, "heads")} + 2·{SizeOverP(block.KvHeads, "KV heads")})·{HeadDim(block, hidden)}";
        if (Fixed)
        {
            int heads = block.Heads / _devices, kv = block.LocalKvHeads(_devices);
            return $"({N(heads)} + 2·{N(kv)})·{N(dh)} = {N((long)(heads + 2 * kv) * dh)}";
        }
        string kvText = block.KvHeads == 1 ? "1" : $"{N(block.KvHeads)}/P";
        return $"({N(block.Heads)}/P + 2·{kvText})·{N(dh)}";
    }

    /// <summary>Where the KV heads live, when that is not simply "each device's own share of H heads"; else null.</summary>
    public string? KvHeadsNote(TransformerSpec block, int hidden)
    {
        int kv = block.KvHeads, group = block.GroupSize;
        // Equal heads, or a count left to config.json (0): nothing to say about sharing.
        if (kv == block.Heads || kv == 0 || block.Heads == 0) return null;
        if (Fixed)
        {
            int heads = block.Heads / _devices, localKv = block.LocalKvHeads(_devices);
            if (kv < _devices)
                return $"{N(kv)} KV head{(kv == 1 ? "" : "s")} < {N(_devices)} devices: each device holds 1 KV head, replicated on the " +
                    $"{N(_devices / kv)} devices whose query heads share it (groups of {N(group)} query heads).";
            return $"Grouped-query: its {N(heads)} query heads share {N(localKv)} KV head{(localKv == 1 ? "" : "s")} (groups of {N(group)} query heads).";
        }
        if (kv == 1)
            return "One KV head (multi-query): every device holds it, replicated; groups of " + N(group) + " query heads.";
        return $"Grouped-query: {N(kv)}/P KV heads per device (groups of {N(group)} query heads); when P > {N(kv)}, each device " +
            $"holds 1 KV head, replicated on P/{N(kv)} devices, and the width is ({N(block.Heads)}/P + 2·1)·{N(block.HeadDim(hidden))}.";
    }

    /// <summary>The norm as the comments name it: "LayerNorm, ε = 1E-05".</summary>
    public static string NormName(TransformerSpec block) =>
        $"{(block.Norm == NormKind.RmsNorm ? "RMSNorm" : "LayerNorm")}, {Setting("ε", block.Epsilon)}";

    /// <summary>A float as C# would round-trip it, without suffix: "1E-05", "0.001".</summary>
    public static string Float(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// A collective's bytes per device for [T, <paramref name="features"/>]: "(P−1)/P · T·F·4 B per device", and with P
    /// fixed its value, from <paramref name="totalBytesPerToken"/> (the step's bytes for one token, all devices together).
    /// </summary>
    public string PerDevice(string symbolic, long totalBytesPerToken, int features, bool needsGrid = false, string name = "F")
    {
        string formula = $"{symbolic} · T·{Size(features, name)}·4 B";
        if (!Fixed || (needsGrid && !FixedGrid) || features == 0) return formula + " per device";
        if (totalBytesPerToken == 0) return formula + " = 0 B per device";
        long den = _devices, num = totalBytesPerToken / ((long)features * PlanCost.BytesPerElement);
        string text = $"{formula} = {Fraction(num, den)} · T·{N(features)}·4 B";
        if (totalBytesPerToken % den == 0) text += $" = {N(totalBytesPerToken / den)}·T B";
        return text + " per device";
    }

    /// <summary>
    /// SUMMA's panel traffic: (q−1)/P·(T·in + in·out)·4 B for A·B, (q−1)/P·(out·in + T·out)·4 B for A·Bᵀ; with the grid
    /// fixed, its value a·T + b from the step's bytes (all devices) per token and for no tokens.
    /// </summary>
    public string SummaBytes(LayerSpec layer, long totalBytesPerToken, long totalBytesWithoutTokens)
    {
        bool transposed = layer.WeightLayout == WeightLayout.OutIn;
        int inF = layer.InFeatures, outF = layer.OutFeatures;
        string terms = transposed ? $"{N(outF)}·{N(inF)} + T·{N(outF)}" : $"T·{N(inF)} + {N(inF)}·{N(outF)}";
        string formula = $"(q−1)/P · ({terms})·4 B";
        if (!FixedGrid) return formula + " per device";

        long num = _q - 1, den = _devices;
        string text = $"{formula} = {Fraction(num, den)} · ({terms})·4 B";
        if (num == 0) return text + " = 0 B per device";
        // Evaluated: a·T + b bytes, when both come out whole.
        if (totalBytesPerToken % den == 0 && totalBytesWithoutTokens % den == 0)
        {
            string tokenTerm = $"{N(totalBytesPerToken / den)}·T", constantTerm = N(totalBytesWithoutTokens / den);
            text += transposed ? $" = ({constantTerm} + {tokenTerm}) B" : $" = ({tokenTerm} + {constantTerm}) B";
        }
        return text + " per device";
    }

    private static string Fraction(long num, long den)
    {
        long g = Gcd(num, den);
        if (g > 1) { num /= g; den /= g; }
        return den == 1 ? N(num) : $"{N(num)}/{N(den)}";
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a < 0 ? -a : a;
    }

    public static string N(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The activation as the comments name it.</summary>
    public static string ActivationName(Activation activation) => activation switch
    {
        Activation.Gelu => "GELU",
        Activation.GeluTanh => "GELU (tanh)",
        Activation.Relu => "ReLU",
        Activation.Silu => "SiLU",
        Activation.Tanh => "tanh",
        Activation.Sigmoid => "sigmoid",
        _ => "no activation",
    };

    /// <summary>What a launch that fuses its epilogue does after the GEMM: "bias + GELU fused", "bias fused", …</summary>
    public static string FusedEpilogue(LayerSpec layer) => (layer.HasBias, layer.Activation) switch
    {
        (true, Activation.None) => "bias fused",
        (true, var a) => $"bias + {ActivationName(a)} fused",
        (false, Activation.None) => "no bias, no activation",
        (false, var a) => $"{ActivationName(a)} fused (no bias)",
    };

    // ---- Line breaks ------------------------------------------------------------------------------

    /// <summary>Width of a step's description line, after "// n. " in the generated Forward and "n. " in model.Plan.</summary>
    public const int MaxCommentWidth = 112;

    /// <summary>Where <see cref="Wrap"/> may break a comment, in order of preference.</summary>
    private static readonly string[] ClauseBreaks = { ": ", "; ", ", " };

    /// <summary>
    /// Splits a long comment after a clause (": ", "; ", ", "), never inside a shape or a formula.
    /// Lines without such a break stay long.
    /// </summary>
    public static IEnumerable<string> Wrap(string line, int width)
    {
        while (line.Length > width)
        {
            int best = -1;
            foreach (var separator in ClauseBreaks)
            {
                for (int at = line.IndexOf(separator, System.StringComparison.Ordinal); at >= 0 && at + 1 <= width;
                     at = line.IndexOf(separator, at + 1, System.StringComparison.Ordinal))
                {
                    if (at >= 30 && !InsideBrackets(line, at) && at > best) best = at;
                }
                if (best >= 0) break;
            }
            if (best < 0) break;
            yield return line.Substring(0, best + 1);
            line = line.Substring(best + 2);
        }
        yield return line;
    }

    private static bool InsideBrackets(string text, int at)
    {
        int depth = 0;
        for (int i = 0; i < at; i++)
        {
            if (text[i] is '[' or '(') depth++;
            else if (text[i] is ']' or ')') depth--;
        }
        return depth > 0;
    }
}
