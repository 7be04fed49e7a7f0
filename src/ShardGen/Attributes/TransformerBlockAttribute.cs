using System;

namespace ShardGen;

/// <summary>
/// A pre-norm transformer block, split Megatron-style: <c>h = x + Attn(Norm(x))</c>, <c>y = h + Mlp(Norm(h))</c>.
/// Q/K/V are column-parallel by whole heads, attention runs on each device's heads, the output projection
/// is row-parallel, the MLP is column then row: two reductions per block in forward. Put it on a
/// <c>public partial TransformerBlock Name { get; }</c> property; blocks stack in declaration order and mix with
/// linear layers.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class TransformerBlockAttribute : Attribute
{
    /// <param name="hidden">Width of the residual stream; each head is hidden / heads wide.</param>
    /// <param name="heads">Query heads.</param>
    public TransformerBlockAttribute(int hidden, int heads)
    {
        Hidden = hidden;
        Heads = heads;
    }

    public int Hidden { get; }

    public int Heads { get; }

    /// <summary>Key/value heads (grouped-query attention); 0, the default, means as many as <see cref="Heads"/>.</summary>
    public int KvHeads { get; set; }

    /// <summary>Hidden width of the MLP; 0, the default, means 4 × hidden.</summary>
    public int FfnHidden { get; set; }

    /// <summary>The two norms' kind. Default LayerNorm.</summary>
    public NormKind Norm { get; set; } = NormKind.LayerNorm;

    /// <summary>Whether a token attends only to earlier tokens of its sequence. Default true.</summary>
    public bool Causal { get; set; } = true;

    /// <summary>The MLP's activation. Default GELU (erf form).</summary>
    public Activation Activation { get; set; } = Activation.Gelu;

    /// <summary>Whether the four projections have biases. Default true.</summary>
    public bool Bias { get; set; } = true;

    /// <summary>ε of both norms. Default 1e-5.</summary>
    public float NormEpsilon { get; set; } = 1e-5f;
}
