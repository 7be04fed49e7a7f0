using System;
using System.Runtime.InteropServices;

namespace ShardGen.Benchmarks;

/// <summary>
/// OpenBLAS through P/Invoke, the GEMM baseline (installed by benchmarks/setup.sh; never a dependency of the
/// library). Loaded by name at run time so a machine without it gets a clear message, not a crash.
/// </summary>
internal static unsafe class OpenBlas
{
    private const int RowMajor = 101, NoTrans = 111;
    private static readonly IntPtr Handle;
    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> Sgemm;
    private static readonly delegate* unmanaged<int, void> SetThreads;
    private static readonly delegate* unmanaged<IntPtr> CoreName;
    private static readonly delegate* unmanaged<IntPtr> Config;

    [DllImport("libc", EntryPoint = "unsetenv")]
    private static extern int UnsetEnv(string name);

    static OpenBlas()
    {
        // OpenBLAS reads OPENBLAS_CORETYPE when it loads; unset (in the native environment, which .NET's
        // Environment.SetEnvironmentVariable does not touch) it picks its kernels for this CPU (AVX-512 here).
        CoreTypeAtStart = Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE");
        UnsetEnv("OPENBLAS_CORETYPE");
        foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblas" })
            if (NativeLibrary.TryLoad(name, out Handle)) break;
        if (Handle == IntPtr.Zero) return;
        Sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(Handle, "cblas_sgemm");
        SetThreads = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(Handle, "openblas_set_num_threads");
        if (NativeLibrary.TryGetExport(Handle, "openblas_get_corename", out var core)) CoreName = (delegate* unmanaged<IntPtr>)core;
        if (NativeLibrary.TryGetExport(Handle, "openblas_get_config", out var config)) Config = (delegate* unmanaged<IntPtr>)config;
    }

    private static readonly string? CoreTypeAtStart;

    public static bool Available => Handle != IntPtr.Zero;

    public static string Describe =>
        !Available ? "OpenBLAS not found (run benchmarks/setup.sh)"
        : $"OpenBLAS {(Config == null ? "" : Marshal.PtrToStringAnsi(Config()))}, core {(CoreName == null ? "?" : Marshal.PtrToStringAnsi(CoreName()))}, " +
          $"OPENBLAS_CORETYPE unset before loading (was {CoreTypeAtStart ?? "unset"})";

    public static void SetNumThreads(int threads) => SetThreads(threads);

    /// <summary>C[m, n] = A[m, k]·B[k, n], all row-major and packed.</summary>
    public static void Gemm(int m, int n, int k, float* a, float* b, float* c) =>
        Sgemm(RowMajor, NoTrans, NoTrans, m, n, k, 1f, a, k, b, n, 0f, c, n);
}
