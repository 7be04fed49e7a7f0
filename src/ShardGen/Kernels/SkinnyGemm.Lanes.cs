using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ShardGen.Kernels;

internal static unsafe partial class SkinnyGemm
{
    /// <summary>One vector width's operations; the JIT specializes the generic kernels per struct, so calls inline.</summary>
    internal interface ILanes<V> where V : unmanaged
    {
        static abstract int Count { get; }
        static abstract V Zero { get; }
        static abstract V Splat(float x);
        static abstract V Load(float* p);
        static abstract void Store(V v, float* p);
        static abstract V Fma(V a, V b, V c);
        static abstract float Sum(V v);
        static abstract V And(V a, V b);

        /// <summary>Count bfloat16 at p widened exactly to float32, in order (zero-extended, then shifted into the upper half).</summary>
        static abstract V LoadWidened(ushort* p);

        /// <summary>The even bfloat16 of a vector holding 2·Count of them (its raw bits), widened: lane i is element 2i.</summary>
        static abstract V Even(V bits);

        /// <summary>The odd bfloat16 of a vector holding 2·Count of them, widened: lane i is element 2i + 1.</summary>
        static abstract V Odd(V bits);

        /// <summary>[Σa, Σb, Σc, Σd]: four horizontal sums at once (halves folded, then one transposing pairwise-add tree).</summary>
        static abstract Vector128<float> Sum4(V a, V b, V c, V d);
    }

    internal struct Lanes512 : ILanes<Vector512<float>>
    {
        public static int Count => 16;
        public static Vector512<float> Zero => Vector512<float>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float x) => Vector512.Create(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<float> v, float* p) => Vector512.Store(v, p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector512.Sum(v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LoadWidened(ushort* p) => Vector512.ShiftLeft(Avx512F.ConvertToVector512Int32(Vector256.Load(p)), 16).AsSingle();
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Even(Vector512<float> bits) => Vector512.ShiftLeft(bits.AsUInt32(), 16).AsSingle();
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Odd(Vector512<float> bits) => (bits.AsUInt32() & Vector512.Create(0xFFFF0000u)).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d) =>
            Lanes256.Sum4(a.GetLower() + a.GetUpper(), b.GetLower() + b.GetUpper(), c.GetLower() + c.GetUpper(), d.GetLower() + d.GetUpper());
    }

    internal struct Lanes256 : ILanes<Vector256<float>>
    {
        public static int Count => 8;
        public static Vector256<float> Zero => Vector256<float>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float x) => Vector256.Create(x);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<float> v, float* p) => Vector256.Store(v, p);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector256.Sum(v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LoadWidened(ushort* p) => Vector256.ShiftLeft(Avx2.ConvertToVector256Int32(p), 16).AsSingle();
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Even(Vector256<float> bits) => Vector256.ShiftLeft(bits.AsUInt32(), 16).AsSingle();
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Odd(Vector256<float> bits) => (bits.AsUInt32() & Vector256.Create(0xFFFF0000u)).AsSingle();

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
        {
            // Per 128-bit half: [a01 a23 b01 b23], [c01 c23 d01 d23], then [a b c d]; the two halves added last.
            var t = Avx.HorizontalAdd(Avx.HorizontalAdd(a, b), Avx.HorizontalAdd(c, d));
            return t.GetLower() + t.GetUpper();
        }
    }
}
