using System;

namespace ShardGen.Cpu;

/// <summary>
/// Large CPU device buffers on Linux: private anonymous mappings, which the kernel hands out zero-filled, so they are
/// not cleared a second time (a model's weights are written right after, and clearing 2 GB cost as much as reading the
/// checkpoint). Small pages on purpose: on this VM (virtio balloon, free page reporting) a fresh MADV_HUGEPAGE region
/// took 17–22 s per 2 GB to first touch against 2–3 s in 4 KiB pages, as free 2 MiB blocks go back to the host and
/// fault in anew. Elsewhere (or when the kernel refuses) callers fall back to cleared heap memory.
/// </summary>
internal static unsafe class MappedMemory
{
    /// <summary>Buffers from this size on are mapped; smaller ones reuse the heap (activations come and go).</summary>
    public const nuint MinBytes = 4 << 20;


    /// <summary>Zero-filled, page-aligned memory of <paramref name="bytes"/>; null when not mapped (small, not Linux, refused).</summary>
    public static void* TryMap(nuint bytes)
    {
        if (!OperatingSystem.IsLinux() || bytes < MinBytes) return null;
        nint start = Libc.mmap(0, Round(bytes), Libc.ProtRead | Libc.ProtWrite, Libc.MapPrivate | Libc.MapAnonymous, -1, 0);
        return start == Libc.Failed ? null : (void*)start;
    }

    /// <summary>Unmaps what <see cref="TryMap"/> returned for <paramref name="bytes"/>.</summary>
    public static void Unmap(void* data, nuint bytes) => Libc.munmap((nint)data, Round(bytes));

    private static nuint Round(nuint bytes) => (bytes + (nuint)Libc.Page - 1) & ~((nuint)Libc.Page - 1);
}
