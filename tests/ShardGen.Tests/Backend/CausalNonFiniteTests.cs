using System;
using System.Linq;
using ShardGen.Cpu;
using ShardGen.Devices;
using static ShardGen.Tests.Backend.Reference;

namespace ShardGen.Tests.Backend;

/// <summary>
/// Causal attention skips masked keys instead of multiplying them by zero: a NaN or ∞ in token k reaches only the
/// tokens that read it (k and later, in its own sequence); earlier tokens and other sequences come out exactly as
/// without it. Token positions are chosen around the kernel's 96-row blocks.
/// </summary>
public sealed class CausalNonFiniteTests : IDisposable
{
    private readonly CpuDeviceMesh _mesh = CpuDeviceMesh.Create(1);
    private readonly CpuDeviceMesh _threaded = CpuDeviceMesh.Create(1, threadsPerDevice: 3);

    public void Dispose()
    {
        _mesh.Dispose();
        _threaded.Dispose();
    }

    public static TheoryData<int, float> Poisons()
    {
        var data = new TheoryData<int, float>();
        foreach (int token in new[] { 0, 7, 15, 16, 17, 95, 96, 111, 112, 150, 191, 192, 199, 205 })
            data.Add(token, float.NaN);
        data.Add(7, float.PositiveInfinity);
        data.Add(100, float.NegativeInfinity);
        return data;
    }

    [Theory]
    [MemberData(nameof(Poisons))]
    public void A_non_finite_token_leaves_earlier_tokens_and_other_sequences_exact(int token, float poison)
    {
        // Two packed sequences: [0, 200) spans three row blocks, [200, 230) one; GQA (8 query heads over 2 KV heads).
        var shape = AttentionTests.Shape(8, 2, 16, true, new[] { 200, 30 });
        int seed = System.Random.Shared.Next();
        var qkv = Inputs(new System.Random(seed), shape);
        var poisoned = (double[])qkv.Clone();
        for (int c = 0; c < shape.FusedWidth; c++) poisoned[token * shape.FusedWidth + c] = poison;
        var reference = Reference.Attention(qkv, shape);
        int start = token < 200 ? 0 : 200, end = token < 200 ? 200 : 230, width = shape.OutputWidth;

        foreach (var device in new Device[] { _mesh.Devices[0], _threaded.Devices[0] })
        {
            string where = $"{device.Name} seed={seed} poison {poison} in token {token}";
            var clean = Run(device, qkv, shape);
            var dirty = Run(device, poisoned, shape);
            AssertClose(clean, reference, 1e-5, where);
            for (int row = 0; row < shape.Tokens; row++)
            {
                var before = clean.AsSpan(row * width, width);
                var after = dirty.AsSpan(row * width, width);
                if (row < token || row >= end)
                    Assert.True(before.SequenceEqual(after), $"{where}: token {row} changed (it never reads token {token}).");
                else
                    Assert.True(after.ToArray().All(v => !float.IsFinite(v)), $"{where}: token {row} reads token {token} but came out finite.");
            }
            Assert.True(start <= token);
        }
    }

    [Fact]
    public void Without_the_mask_a_non_finite_token_reaches_its_whole_sequence_and_no_other()
    {
        var shape = AttentionTests.Shape(4, 4, 8, false, new[] { 40, 25 });
        int seed = System.Random.Shared.Next();
        var qkv = Inputs(new System.Random(seed), shape);
        var poisoned = (double[])qkv.Clone();
        for (int c = 0; c < shape.FusedWidth; c++) poisoned[30 * shape.FusedWidth + c] = double.NaN;
        var clean = Run(_mesh.Devices[0], qkv, shape);
        var dirty = Run(_mesh.Devices[0], poisoned, shape);
        int width = shape.OutputWidth;
        for (int row = 0; row < shape.Tokens; row++)
        {
            var after = dirty.AsSpan(row * width, width).ToArray();
            if (row < 40) Assert.True(after.All(float.IsNaN), $"seed={seed}: token {row} attends to token 30 but is not NaN.");
            else Assert.True(after.AsSpan().SequenceEqual(clean.AsSpan(row * width, width)), $"seed={seed}: token {row} of the other sequence changed.");
        }
    }

    [Theory]
    [InlineData(new[] { 17 })]
    [InlineData(new[] { 16, 1, 33 })]
    [InlineData(new[] { 96, 97, 113 })]
    [InlineData(new[] { 300 })]
    public void Causal_strips_match_the_double_reference_for_packed_gqa_sequences(int[] lengths)
    {
        foreach (var (heads, kv) in new[] { (8, 2), (4, 1), (2, 2) })
        {
            var shape = AttentionTests.Shape(heads, kv, 32, true, lengths);
            int seed = System.Random.Shared.Next();
            var qkv = Inputs(new System.Random(seed), shape);
            var reference = Reference.Attention(qkv, shape);
            AssertClose(Run(_mesh.Devices[0], qkv, shape), reference, 1e-5, $"{heads}/{kv} heads, lengths [{string.Join(",", lengths)}], seed={seed}");
            AssertClose(Run(_threaded.Devices[0], qkv, shape), reference, 1e-5, $"threaded {heads}/{kv} heads, lengths [{string.Join(",", lengths)}], seed={seed}");
        }
    }

    private static double[] Inputs(System.Random rng, AttentionShape shape)
    {
        var x = Reference.Random(rng, shape.Tokens * shape.FusedWidth);
        for (int i = 0; i < x.Length; i++) x[i] = (float)(x[i] * 3);
        return x;
    }

    private static float[] Run(Device d, double[] qkv, AttentionShape shape)
    {
        var qv = Upload(d, qkv, shape.Tokens, shape.FusedWidth);
        var ov = Alloc(d, shape.Tokens, shape.OutputWidth);
        d.Attention(qv, ov, shape);
        var result = Download(ov);
        qv.Buffer.Dispose();
        ov.Buffer.Dispose();
        return result;
    }
}
