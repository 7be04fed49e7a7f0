using System;
using System.IO;
using System.Threading;

namespace ShardGen.Cpu;

/// <summary>
/// A private, writable mapping of a whole file on Linux (mmap MAP_PRIVATE, PROT_READ | PROT_WRITE, MAP_NORESERVE): reads
/// see the file's page-cache pages, so CPU devices use a checkpoint's F32 tensors in place with no copy (fresh memory
/// costs seconds per 2 GB to first touch on this VM, see <see cref="MappedMemory"/>; the page cache is already there);
/// a write (an optimizer step) copies the page it touches, and the file is never modified. Counted references: the
/// loader holds one while it loads and every device buffer over it one, so the mapping goes when the last buffer is
/// freed, in its device's queue order. Truncating the file while it is mapped kills the process (SIGBUS): load with
/// copying for a file that will be rewritten.
/// </summary>
internal sealed unsafe class MappedFile
{
    private nint _data;
    private int _references = 1;

    private MappedFile(string path, nint data, long length)
    {
        Path = path;
        _data = data;
        Length = length;
    }

    /// <summary>The file mapped, holding one reference (the caller's); null when not on Linux or the kernel refuses.</summary>
    public static MappedFile? TryOpen(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long length = RandomAccess.GetLength(handle);
        if (length == 0) return null;
        nint data = Libc.mmap(0, (nuint)length, Libc.ProtRead | Libc.ProtWrite, Libc.MapPrivate | Libc.MapNoReserve, (int)handle.DangerousGetHandle(), 0);
        return data == Libc.Failed ? null : new MappedFile(path, data, length);
    }

    /// <summary>The mapped file's path, for messages.</summary>
    public string Path { get; }

    /// <summary>The file's length in bytes.</summary>
    public long Length { get; }

    /// <summary>The first byte of the file.</summary>
    public byte* Data
    {
        get
        {
            nint p = Volatile.Read(ref _data);
            if (p == 0) throw new ObjectDisposedException(nameof(MappedFile), $"The mapping of {Path} was used after its last reference went.");
            return (byte*)p;
        }
    }

    /// <summary>One more reference (a device buffer over the mapping).</summary>
    public void Retain()
    {
        if (Interlocked.Increment(ref _references) <= 1)
            throw new ObjectDisposedException(nameof(MappedFile), $"The mapping of {Path} was retained after its last reference went.");
    }

    /// <summary>Drops a reference; the last one unmaps.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) != 0) return;
        nint p = Interlocked.Exchange(ref _data, 0);
        if (p != 0) Libc.munmap(p, (nuint)Length);
    }

    /// <summary>
    /// Maps the page-cache pages of bytes [<paramref name="offset"/>, +<paramref name="bytes"/>) into the page tables now
    /// (MADV_POPULATE_READ, read faults: no page is copied), so a model's first pass does not take the faults. Best effort.
    /// </summary>
    public void Populate(long offset, long bytes)
    {
        long first = offset & ~(Libc.Page - 1), end = Math.Min(Length, offset + bytes);
        if (end > first) Libc.madvise((nint)(Data + first), (nuint)(end - first), Libc.MadvPopulateRead);
    }
}
