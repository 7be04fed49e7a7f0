using System;
using System.Runtime.InteropServices;

namespace ShardGen.Cpu;

/// <summary>
/// A growable native staging buffer, reused so that steady calls never allocate (the MPI mesh stages strided views in it).
/// Not thread-safe: one owner grows it.
/// </summary>
internal sealed unsafe class CpuScratch : IDisposable
{
    private float* _data;
    private nint _capacity;

    public float* Ensure(nint floats)
    {
        if (floats <= _capacity && _data != null) return _data;
        if (_data != null) NativeMemory.AlignedFree(_data);
        nint size = Math.Max(floats, 16);
        _data = (float*)NativeMemory.AlignedAlloc((nuint)(size * sizeof(float)), 64);
        _capacity = size;
        return _data;
    }

    public void Dispose()
    {
        if (_data != null) NativeMemory.AlignedFree(_data);
        _data = null;
        _capacity = 0;
    }
}
