namespace ShardGen.Kernels;

/// <summary>Portable 4×4 fallback for hardware without 256-bit FMA; same packing and driver as the fast kernels.</summary>
internal unsafe struct MicroKernelScalar : IMicroKernel
{
    public static int MR => 4;
    public static int NR => 4;
    public static int KC => 256;
    public static int MC => 128;
    public static int NC => 2048;

    public static void Run(int kc, float* a, float* b, float* c, nint ldc, bool add)
    {
        float* acc = stackalloc float[16];
        for (int i = 0; i < 16; i++) acc[i] = 0f;
        for (int p = 0; p < kc; p++)
        {
            for (int r = 0; r < 4; r++)
            {
                float av = a[r];
                acc[r * 4 + 0] += av * b[0];
                acc[r * 4 + 1] += av * b[1];
                acc[r * 4 + 2] += av * b[2];
                acc[r * 4 + 3] += av * b[3];
            }
            a += 4;
            b += 4;
        }
        for (int r = 0; r < 4; r++)
        for (int j = 0; j < 4; j++)
            c[r * ldc + j] = add ? c[r * ldc + j] + acc[r * 4 + j] : acc[r * 4 + j];
    }
}
