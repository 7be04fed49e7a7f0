using System;
using System.Runtime.InteropServices;

namespace ShardGen.Cpu;

/// <summary>
/// A device's receive buffer for collectives, grown on demand and reused, so ring steps never allocate.
/// Only the owning device's worker grows it, at the start of a collective, before the members meet.
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
