using System;
using System.IO;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace ShardGen.Mpi;

/// <summary>
/// Open MPI's daemon gives each rank a pseudo-terminal as standard output, so .NET's console takes it for a
/// terminal and, on its first write (to Out or Error), sends the terminfo "keypad transmit" sequence (ESC[?1h ESC=)
/// that then starts the job's output. A rank never reads keys, so under an MPI launcher ShardGen writes the console
/// through plain streams on the same file descriptors, which never switch the terminal's mode.
/// </summary>
internal static class MpiConsole
{
    private static int _done;

    /// <summary>Environment variables an MPI launcher sets in every rank (Open MPI, PMIx, MPICH/Hydra).</summary>
    private static readonly string[] LauncherVariables = { "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE" };

    /// <summary>Call before the program's first console write: later, .NET has already sent the sequence.</summary>
    public static void UsePlainStreamsUnderLauncher()
    {
        if (System.Threading.Interlocked.Exchange(ref _done, 1) != 0) return;
        if (Console.IsOutputRedirected || !UnderLauncher()) return; // a pipe or file: .NET sends nothing
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        Console.SetOut(Plain(1, utf8));
        // Error too: any console stream's first write initializes the terminal, and stdout is the terminal.
        Console.SetError(Plain(2, utf8));
    }

    private static bool UnderLauncher()
    {
        foreach (var name in LauncherVariables)
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name))) return true;
        return false;
    }

    private static TextWriter Plain(int descriptor, Encoding encoding) =>
        new StreamWriter(new FileStream(new SafeFileHandle(descriptor, ownsHandle: false), FileAccess.Write, bufferSize: 0), encoding) { AutoFlush = true };
}
