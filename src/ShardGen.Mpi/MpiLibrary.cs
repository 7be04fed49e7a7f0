using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace ShardGen.Mpi;

/// <summary>The two MPI ABIs ShardGen knows: their handles are represented differently.</summary>
public enum MpiFlavor
{
    /// <summary>Open MPI: handles are addresses of exported globals (<c>&amp;ompi_mpi_comm_world</c>, …).</summary>
    OpenMpi,

    /// <summary>MPICH and its ABI family (Intel MPI, MVAPICH): handles are 32-bit integer constants.</summary>
    Mpich,
}

/// <summary>
/// The MPI C library, loaded at run time (no link-time dependency): the entry points ShardGen calls, as unmanaged
/// function pointers, and the predefined handles of its ABI. Handles are carried as <see cref="nint"/>: Open MPI's are
/// pointers, MPICH's are <c>int</c>s, which the x86-64 and AArch64 calling conventions pass in the low 32 bits.
/// </summary>
public sealed unsafe class MpiLibrary
{
    /// <summary>Environment variable naming the MPI library to load (a path or a soname), tried before the defaults.</summary>
    public const string LibraryVariable = "SHARDGEN_MPI_LIBRARY";

    /// <summary>Sonames tried in order: Open MPI 4/5, then MPICH (Debian ships it as both names).</summary>
    public static readonly IReadOnlyList<string> DefaultCandidates = new[] { "libmpi.so.40", "libmpich.so.12", "libmpi.so.12" };

    /// <summary>What to install when no library is found.</summary>
    public const string InstallHint =
        "Install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev) or MPICH (apt-get install mpich libmpich-dev), " +
        "then start the program with mpirun, e.g. mpirun -np 4 dotnet MyModel.dll; or set " + LibraryVariable + " to the path of libmpi.so.";

    public const int Undefined = -32766;

    private static readonly object Gate = new();
    private static MpiLibrary? _shared;

    private MpiLibrary(string name, nint handle)
    {
        Name = name;
        Handle = handle;
        Flavor = NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _) ? MpiFlavor.OpenMpi : MpiFlavor.Mpich;

        Initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        FinalizeFn = (delegate* unmanaged<int>)Export("MPI_Finalize");
        Abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        CommRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        CommSplit = (delegate* unmanaged<nint, int, int, nint*, int>)Export("MPI_Comm_split");
        CommFree = (delegate* unmanaged<nint*, int>)Export("MPI_Comm_free");
        Barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier");
        Allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        Allgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int>)Export("MPI_Allgather");
        Allgatherv = (delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int>)Export("MPI_Allgatherv");
        ReduceScatter = (delegate* unmanaged<void*, void*, int*, nint, nint, nint, int>)Export("MPI_Reduce_scatter");
        Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        Reduce = (delegate* unmanaged<void*, void*, int, nint, nint, int, nint, int>)Export("MPI_Reduce");
        CommDup = (delegate* unmanaged<nint, nint*, int>)Export("MPI_Comm_dup");
        Iallgather = (delegate* unmanaged<void*, int, nint, void*, int, nint, nint, nint*, int>)Export("MPI_Iallgather");
        Ibarrier = (delegate* unmanaged<nint, nint*, int>)Export("MPI_Ibarrier");
        Isend = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Export("MPI_Isend");
        Irecv = (delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int>)Export("MPI_Irecv");
        Test = (delegate* unmanaged<nint*, int*, void*, int>)Export("MPI_Test");
        Wait = (delegate* unmanaged<nint*, void*, int>)Export("MPI_Wait");
        Cancel = (delegate* unmanaged<nint*, int>)Export("MPI_Cancel");
        ErrorString = (delegate* unmanaged<int, byte*, int*, int>)Export("MPI_Error_string");
        GetLibraryVersion = (delegate* unmanaged<byte*, int*, int>)Export("MPI_Get_library_version");

        if (Flavor == MpiFlavor.OpenMpi)
        {
            CommWorld = Export("ompi_mpi_comm_world");
            CommNull = Export("ompi_mpi_comm_null");
            Float = Export("ompi_mpi_float");
            Int64 = Export("ompi_mpi_int64_t");
            Sum = Export("ompi_mpi_op_sum");
            InPlace = 1;
            AnySource = -1;
        }
        else
        {
            // mpi.h of MPICH 3.x/4.x (the MPICH ABI).
            CommWorld = 0x44000000;
            CommNull = 0x04000000;
            Float = 0x4c00040a;
            Int64 = 0x4c00083a;
            Sum = 0x58000003;
            InPlace = -1;
            AnySource = -2;
        }
    }

    /// <summary>The soname or path that was loaded.</summary>
    public string Name { get; }

    public nint Handle { get; }

    public MpiFlavor Flavor { get; }

    public nint CommWorld { get; }
    public nint CommNull { get; }
    public nint Float { get; }
    public nint Int64 { get; }
    public nint Sum { get; }

    /// <summary>MPI_IN_PLACE: (void*)1 in Open MPI, (void*)-1 in MPICH.</summary>
    public nint InPlace { get; }

    /// <summary>MPI_ANY_SOURCE: −1 in Open MPI, −2 in MPICH.</summary>
    public int AnySource { get; }

    internal readonly delegate* unmanaged<int*, int> Initialized;
    internal readonly delegate* unmanaged<int*, int> Finalized;
    internal readonly delegate* unmanaged<int*, byte***, int, int*, int> InitThread;
    internal readonly delegate* unmanaged<int> FinalizeFn;
    internal readonly delegate* unmanaged<nint, int, int> Abort;
    internal readonly delegate* unmanaged<nint, int*, int> CommRank;
    internal readonly delegate* unmanaged<nint, int*, int> CommSize;
    internal readonly delegate* unmanaged<nint, int, int, nint*, int> CommSplit;
    internal readonly delegate* unmanaged<nint*, int> CommFree;
    internal readonly delegate* unmanaged<nint, int> Barrier;
    internal readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> Allreduce;
    internal readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, int> Allgather;
    internal readonly delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int> Allgatherv;
    internal readonly delegate* unmanaged<void*, void*, int*, nint, nint, nint, int> ReduceScatter;
    internal readonly delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
    internal readonly delegate* unmanaged<void*, void*, int, nint, nint, int, nint, int> Reduce;
    internal readonly delegate* unmanaged<nint, nint*, int> CommDup;
    // Non-blocking calls for the step guard (MpiStepGuard); requests are carried as nint (MPICH's are ints, in the
    // low 32 bits of a zeroed nint), statuses are MPI_STATUS_IGNORE (null) in both ABIs.
    internal readonly delegate* unmanaged<void*, int, nint, void*, int, nint, nint, nint*, int> Iallgather;
    internal readonly delegate* unmanaged<nint, nint*, int> Ibarrier;
    internal readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Isend;
    internal readonly delegate* unmanaged<void*, int, nint, int, int, nint, nint*, int> Irecv;
    internal readonly delegate* unmanaged<nint*, int*, void*, int> Test;
    internal readonly delegate* unmanaged<nint*, void*, int> Wait;
    internal readonly delegate* unmanaged<nint*, int> Cancel;
    internal readonly delegate* unmanaged<int, byte*, int*, int> ErrorString;
    internal readonly delegate* unmanaged<byte*, int*, int> GetLibraryVersion;

    /// <summary>
    /// The process's MPI library, loaded once: <see cref="LibraryVariable"/> if set, else <see cref="DefaultCandidates"/>.
    /// Throws <see cref="MpiNotFoundException"/> naming what was tried and what to install.
    /// </summary>
    public static MpiLibrary Shared
    {
        get
        {
            lock (Gate)
            {
                if (_shared != null) return _shared;
                var candidates = new List<string>();
                var fromEnvironment = Environment.GetEnvironmentVariable(LibraryVariable);
                if (!string.IsNullOrWhiteSpace(fromEnvironment)) candidates.Add(fromEnvironment);
                candidates.AddRange(DefaultCandidates);
                return _shared = Load(candidates);
            }
        }
    }

    /// <summary>Loads the first of <paramref name="candidates"/> that opens and exports MPI_Init_thread.</summary>
    public static MpiLibrary Load(IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var tried = new List<string>();
        foreach (var name in candidates)
        {
            // RTLD_GLOBAL: Open MPI's plugins (dlopen'ed by MPI_Init) resolve symbols of libmpi and libopen-pal.
            nint handle = OpenGlobal(name);
            if (handle == 0 && !NativeLibrary.TryLoad(name, out handle))
            {
                tried.Add($"{name} (not found)");
                continue;
            }
            if (!NativeLibrary.TryGetExport(handle, "MPI_Init_thread", out _))
            {
                tried.Add($"{name} (no MPI_Init_thread: not an MPI library)");
                continue;
            }
            return new MpiLibrary(name, handle);
        }
        throw new MpiNotFoundException(
            $"ShardGen.Mpi found no MPI library (tried {string.Join(", ", tried)}). {InstallHint}");
    }

    private static nint OpenGlobal(string name)
    {
        const int RtldNow = 2, RtldGlobal = 0x100;
        try
        {
            return dlopen(name, RtldNow | RtldGlobal);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
    }

    [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern nint dlopen(string file, int mode);

    private nint Export(string symbol)
    {
        if (!NativeLibrary.TryGetExport(Handle, symbol, out var address))
            throw new MpiNotFoundException($"The MPI library {Name} does not export {symbol}; it is not an MPI-3 library ShardGen can use. {InstallHint}");
        return address;
    }

    /// <summary>The library's own version string (MPI_Get_library_version).</summary>
    public string Version
    {
        get
        {
            var buffer = new byte[8192];
            int length = 0;
            fixed (byte* p = buffer)
                if (GetLibraryVersion(p, &length) != 0) return Flavor.ToString();
            return Encoding.ASCII.GetString(buffer, 0, Math.Clamp(length, 0, buffer.Length)).Trim('\0', ' ', '\n');
        }
    }

    /// <summary>Throws <see cref="MpiException"/> with MPI's own words for a non-zero return code.</summary>
    public void Check(int code, string call)
    {
        if (code == 0) return;
        var buffer = new byte[1024];
        int length = 0;
        string text;
        fixed (byte* p = buffer)
            text = ErrorString(code, p, &length) == 0 ? Encoding.ASCII.GetString(buffer, 0, Math.Clamp(length, 0, buffer.Length)) : "unknown error";
        throw new MpiException($"{call} failed with MPI error {code}: {text}");
    }
}
