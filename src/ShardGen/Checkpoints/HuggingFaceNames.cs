using System.Collections.Generic;
using ShardGen.Planning;

namespace ShardGen.Checkpoints;

/// <summary>
/// One logical tensor's place in a Hugging Face checkpoint: the tensor's name and stored shape, whether it is stored
/// [out, in] (read transposed), and which of its columns it is (GPT-2's fused c_attn holds q, k and v side by side).
/// </summary>
internal sealed record TensorMapping(WeightKey Key, string Name, long[] StoredShape, bool Transposed, int Col0, int Rows, int Cols)
{
    /// <summary>
    /// Where logical element (row, col) of the [in, out] weight lies in the stored tensor, row-major: [out, in] on file
    /// stores it at [Col0 + col, row]; [in, out] at [row, Col0 + col] (GPT-2's fused c_attn: Col0 picks q, k or v).
    /// </summary>
    public long StoredIndex(long row, long col) =>
        Transposed ? (Col0 + col) * StoredShape[^1] + row : row * StoredShape[^1] + Col0 + col;
}

/// <summary>
/// The Hugging Face name table of both families (docs/checkpoints.md prints the same table): LLaMA's nn.Linear
/// weights are [out, in] and read transposed; GPT-2's Conv1D weights are already [in, out].
/// </summary>
internal static class HuggingFaceNames
{
    /// <summary>Every tensor a model of <paramref name="family"/> reads, with <paramref name="layers"/> resolved.</summary>
    public static List<TensorMapping> For(ModelFamily family, IReadOnlyList<LayerSpec> layers, LanguageModelLayers at, string gpt2Prefix)
    {
        var stack = layers[at.Stack];
        var b = stack.Block!;
        var s = new Sizes(layers[at.Embedding].InFeatures, stack.InFeatures, b.Heads * b.HeadDim(stack.InFeatures),
            b.KvHeads * b.HeadDim(stack.InFeatures), b.FfnHidden, at.Positions >= 0 ? layers[at.Positions].InFeatures : 0);
        var list = new List<TensorMapping>();
        var table = new Table(list);
        if (family == ModelFamily.Llama) Llama(table, at, s, b.Layers, b.QkvBias, layers[at.Head].Tied);
        else Gpt2(table, at, s, b.Layers, layers[at.Head].Tied, gpt2Prefix);
        return list;
    }

    private readonly record struct Sizes(int Vocab, int Hidden, int Query, int KeyValue, int Ffn, int Positions);

    private static void Llama(Table t, LanguageModelLayers at, Sizes s, int blocks, bool qkvBias, bool tied)
    {
        t.Matrix(new(at.Embedding, -1, WeightRole.TokenEmbedding), "model.embed_tokens.weight", s.Vocab, s.Hidden);
        for (int i = 0; i < blocks; i++)
        {
            string p = $"model.layers.{i}.";
            WeightKey K(WeightRole role) => new(at.Stack, i, role);
            t.Vector(K(WeightRole.AttentionNormScale), p + "input_layernorm.weight", s.Hidden);
            t.Linear(K(WeightRole.Query), p + "self_attn.q_proj.weight", s.Hidden, s.Query);
            t.Linear(K(WeightRole.Key), p + "self_attn.k_proj.weight", s.Hidden, s.KeyValue);
            t.Linear(K(WeightRole.Value), p + "self_attn.v_proj.weight", s.Hidden, s.KeyValue);
            if (qkvBias)
            {
                t.Vector(K(WeightRole.QueryBias), p + "self_attn.q_proj.bias", s.Query);
                t.Vector(K(WeightRole.KeyBias), p + "self_attn.k_proj.bias", s.KeyValue);
                t.Vector(K(WeightRole.ValueBias), p + "self_attn.v_proj.bias", s.KeyValue);
            }
            t.Linear(K(WeightRole.AttentionOutput), p + "self_attn.o_proj.weight", s.Query, s.Hidden);
            t.Vector(K(WeightRole.MlpNormScale), p + "post_attention_layernorm.weight", s.Hidden);
            t.Linear(K(WeightRole.MlpGate), p + "mlp.gate_proj.weight", s.Hidden, s.Ffn);
            t.Linear(K(WeightRole.MlpUp), p + "mlp.up_proj.weight", s.Hidden, s.Ffn);
            t.Linear(K(WeightRole.MlpDown), p + "mlp.down_proj.weight", s.Ffn, s.Hidden);
        }
        t.Vector(new(at.FinalNorm, -1, WeightRole.FinalNormScale), "model.norm.weight", s.Hidden);
        if (!tied) t.Linear(new(at.Head, -1, WeightRole.Head), "lm_head.weight", s.Hidden, s.Vocab);
    }

    private static void Gpt2(Table t, LanguageModelLayers at, Sizes s, int blocks, bool tied, string prefix)
    {
        t.Matrix(new(at.Embedding, -1, WeightRole.TokenEmbedding), prefix + "wte.weight", s.Vocab, s.Hidden);
        t.Matrix(new(at.Positions, -1, WeightRole.PositionEmbedding), prefix + "wpe.weight", s.Positions, s.Hidden);
        int h = s.Hidden;
        for (int i = 0; i < blocks; i++)
        {
            string p = $"{prefix}h.{i}.";
            WeightKey K(WeightRole role) => new(at.Stack, i, role);
            t.Vector(K(WeightRole.AttentionNormScale), p + "ln_1.weight", h);
            t.Vector(K(WeightRole.AttentionNormShift), p + "ln_1.bias", h);
            // c_attn is one Conv1D [h, 3h]: q, k and v are its column ranges, and so are their biases in [3h].
            t.Columns(K(WeightRole.Query), p + "attn.c_attn.weight", h, 3 * h, 0, h);
            t.Columns(K(WeightRole.Key), p + "attn.c_attn.weight", h, 3 * h, h, h);
            t.Columns(K(WeightRole.Value), p + "attn.c_attn.weight", h, 3 * h, 2 * h, h);
            t.Columns(K(WeightRole.QueryBias), p + "attn.c_attn.bias", 1, 3 * h, 0, h);
            t.Columns(K(WeightRole.KeyBias), p + "attn.c_attn.bias", 1, 3 * h, h, h);
            t.Columns(K(WeightRole.ValueBias), p + "attn.c_attn.bias", 1, 3 * h, 2 * h, h);
            t.Matrix(K(WeightRole.AttentionOutput), p + "attn.c_proj.weight", h, h);
            t.Vector(K(WeightRole.AttentionOutputBias), p + "attn.c_proj.bias", h);
            t.Vector(K(WeightRole.MlpNormScale), p + "ln_2.weight", h);
            t.Vector(K(WeightRole.MlpNormShift), p + "ln_2.bias", h);
            t.Matrix(K(WeightRole.MlpUp), p + "mlp.c_fc.weight", h, s.Ffn);
            t.Vector(K(WeightRole.MlpUpBias), p + "mlp.c_fc.bias", s.Ffn);
            t.Matrix(K(WeightRole.MlpDown), p + "mlp.c_proj.weight", s.Ffn, h);
            t.Vector(K(WeightRole.MlpDownBias), p + "mlp.c_proj.bias", h);
        }
        t.Vector(new(at.FinalNorm, -1, WeightRole.FinalNormScale), prefix + "ln_f.weight", h);
        t.Vector(new(at.FinalNorm, -1, WeightRole.FinalNormShift), prefix + "ln_f.bias", h);
        if (!tied) t.Linear(new(at.Head, -1, WeightRole.Head), "lm_head.weight", h, s.Vocab);
    }

    private readonly struct Table(List<TensorMapping> list)
    {
        /// <summary>Stored as the logical [rows, cols].</summary>
        public void Matrix(WeightKey key, string name, int rows, int cols) =>
            list.Add(new(key, name, [rows, cols], false, 0, rows, cols));

        /// <summary>An nn.Linear weight: logical [in, out], stored [out, in].</summary>
        public void Linear(WeightKey key, string name, int inFeatures, int outFeatures) =>
            list.Add(new(key, name, [outFeatures, inFeatures], true, 0, inFeatures, outFeatures));

        /// <summary>A 1D tensor [n], logical [1, n].</summary>
        public void Vector(WeightKey key, string name, int n) => list.Add(new(key, name, [n], false, 0, 1, n));

        /// <summary>Columns [col0, +cols) of a stored [rows, storedCols] matrix (a [storedCols] vector when rows is 1).</summary>
        public void Columns(WeightKey key, string name, int rows, int storedCols, int col0, int cols) =>
            list.Add(new(key, name, rows == 1 ? [storedCols] : [rows, storedCols], false, col0, rows, cols));
    }
}
