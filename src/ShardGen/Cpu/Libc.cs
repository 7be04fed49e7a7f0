using System.Runtime.InteropServices;

namespace ShardGen.Cpu;

/// <summary>The Linux memory-mapping calls CPU devices use: anonymous buffers (<see cref="MappedMemory"/>) and checkpoint files (<see cref="MappedFile"/>).</summary>
internal static class Libc
{
    public const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MapNoReserve = 0x4000, MadvPopulateRead = 22;

    /// <summary>The page size the mappings are rounded to.</summary>
    public const long Page = 4096;

    /// <summary>What <see cref="mmap"/> returns when it fails (MAP_FAILED).</summary>
    public static readonly nint Failed = -1;

    [DllImport("libc.so.6", SetLastError = true)]
    public static extern nint mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc.so.6", SetLastError = true)]
    public static extern int munmap(nint address, nuint length);

    [DllImport("libc.so.6", SetLastError = true)]
    public static extern int madvise(nint address, nuint length, int advice);
}
