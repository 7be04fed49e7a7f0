using System;
using System.Threading;

namespace ShardGen.Mpi;

/// <summary>The thread support ShardGen asks MPI_Init_thread for.</summary>
public enum MpiThreadLevel
{
    /// <summary>MPI_THREAD_SINGLE, what MPI_Init gives (the default; see <see cref="MpiRuntime.ThreadLevel"/>).</summary>
    Single = 0,
    Funneled = 1,
    Serialized = 2,
    Multiple = 3,
}

/// <summary>
/// The process's MPI session: initialized once (MPI_Init_thread at <see cref="ThreadLevel"/>), finalized when the
/// process exits. From initialization on, an exception nobody catches aborts the
/// whole job (MPI_Abort) after printing this rank's message, so the other ranks never wait for it forever; ranks that
/// fall out of step abort it too (see <see cref="Timeout"/> and <see cref="MpiStepGuard"/>).
/// </summary>
public static unsafe class MpiRuntime
{
    private static readonly object Gate = new();
    private static MpiCommunicator? _world;
    private static bool _initializedHere;
    private static int _aborting;
    private static MpiThreadLevel? _threadLevel;
    private static TimeSpan? _timeout;
    private static MpiStepGuard? _guard;

    /// <summary>Environment variable overriding <see cref="Timeout"/>: seconds (e.g. 5 or 0.5), or "off".</summary>
    public const string TimeoutVariable = "SHARDGEN_MPI_TIMEOUT";

    /// <summary>The default <see cref="Timeout"/>.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a rank waits at a collective for the other ranks before it aborts the job naming where each rank is
    /// (default 60 s; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>: never). Out-of-step ranks that ShardGen
    /// can see (a different step, a rank that returned from Main) abort at once; the timeout catches the rest, e.g.
    /// a rank stuck in its own code. Set it above the longest time one rank may compute while another waits.
    /// <see cref="TimeoutVariable"/> sets it without code.
    /// </summary>
    public static TimeSpan Timeout
    {
        get
        {
            lock (Gate)
            {
                if (_timeout is { } timeout) return timeout;
                var text = Environment.GetEnvironmentVariable(TimeoutVariable)?.Trim();
                if (string.IsNullOrEmpty(text)) return DefaultTimeout;
                if (text.Equals("off", StringComparison.OrdinalIgnoreCase)) return System.Threading.Timeout.InfiniteTimeSpan;
                return double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                    && seconds > 0 && seconds <= int.MaxValue / 1000
                    ? TimeSpan.FromSeconds(seconds)
                    : throw new MpiException($"{TimeoutVariable}='{text}' is not a number of seconds > 0 (e.g. 60 or 0.5) or 'off'.");
            }
        }
        set
        {
            if (value != System.Threading.Timeout.InfiniteTimeSpan && value <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(value), value, "The MPI timeout must be positive, or Timeout.InfiniteTimeSpan for none.");
            lock (Gate) _timeout = value;
        }
    }

    /// <summary>The process's step guard, made with the first mesh (collective: every rank makes its first mesh together).</summary>
    internal static MpiStepGuard Guard(MpiCommunicator world)
    {
        lock (Gate) return _guard ??= new MpiStepGuard(world);
    }

    /// <summary>Environment variable overriding <see cref="ThreadLevel"/>: single, funneled, serialized or multiple.</summary>
    public const string ThreadLevelVariable = "SHARDGEN_MPI_THREAD_LEVEL";

    /// <summary>
    /// The thread level requested at initialization (set it before the first mesh). ShardGen makes every MPI call on
    /// the thread that runs the model, one call at a time (forward passes on a mesh are serialized), and no runtime
    /// thread ever calls MPI, so the default is <see cref="MpiThreadLevel.Single"/>, what MPI_Init gives C programs and
    /// Open MPI's own Java bindings: any higher level turns on Open MPI 4's internal locking, about 0.3 µs more per
    /// call (a 4 KiB all-reduce takes under 1 µs). Ask for <see cref="MpiThreadLevel.Serialized"/> or more when several
    /// threads of the program call MPI; <see cref="ThreadLevelVariable"/> sets it without code.
    /// </summary>
    public static MpiThreadLevel ThreadLevel
    {
        get
        {
            lock (Gate)
            {
                if (_threadLevel is { } level) return level;
                var text = Environment.GetEnvironmentVariable(ThreadLevelVariable);
                return string.IsNullOrWhiteSpace(text) ? MpiThreadLevel.Single
                    : Enum.TryParse<MpiThreadLevel>(text.Trim(), ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) ? parsed
                    : throw new MpiException($"{ThreadLevelVariable}='{text}' is not one of single, funneled, serialized, multiple.");
            }
        }
        set
        {
            lock (Gate)
            {
                if (_world != null) throw new InvalidOperationException("MPI is already initialized: set the thread level before the first MpiDeviceMesh.");
                _threadLevel = value;
            }
        }
    }

    /// <summary>The thread level MPI provided (valid once initialized).</summary>
    public static MpiThreadLevel ProvidedThreadLevel { get; private set; }

    /// <summary>MPI_COMM_WORLD, initializing MPI on first use. Throws <see cref="MpiNotFoundException"/> without an MPI library.</summary>
    public static MpiCommunicator World
    {
        get
        {
            lock (Gate)
            {
                if (_world != null) return _world;
                MpiConsole.UsePlainStreamsUnderLauncher();
                var mpi = MpiLibrary.Shared;
                int flag = 0;
                mpi.Check(mpi.Finalized(&flag), "MPI_Finalized");
                if (flag != 0) throw new MpiException("MPI was already finalized in this process; it cannot be started again.");
                mpi.Check(mpi.Initialized(&flag), "MPI_Initialized");
                if (flag == 0)
                {
                    var required = ThreadLevel;
                    int provided = 0;
                    mpi.Check(mpi.InitThread(null, null, (int)required, &provided), "MPI_Init_thread");
                    ProvidedThreadLevel = (MpiThreadLevel)provided;
                    if (provided < (int)required)
                        Console.Error.WriteLine($"ShardGen.Mpi: asked MPI for thread level {required} but got {(MpiThreadLevel)provided}.");
                    _initializedHere = true;
                    AppDomain.CurrentDomain.ProcessExit += (_, _) => Shutdown();
                }
                AppDomain.CurrentDomain.UnhandledException += (_, e) =>
                    Abort(e.ExceptionObject as Exception ?? new Exception(e.ExceptionObject?.ToString()));
                _world = new MpiCommunicator(mpi, mpi.CommWorld, owned: false);
                return _world;
            }
        }
    }

    /// <summary>True once MPI has been initialized by (or for) ShardGen in this process.</summary>
    public static bool IsInitialized
    {
        get { lock (Gate) return _world != null; }
    }

    /// <summary>
    /// Runs <paramref name="main"/>; if it throws, prints "rank r: message" to standard error and aborts the job
    /// (MPI_Abort), so ranks waiting in a collective do not hang. Returns <paramref name="main"/>'s exit code.
    /// </summary>
    public static int Run(Func<int> main)
    {
        ArgumentNullException.ThrowIfNull(main);
        MpiConsole.UsePlainStreamsUnderLauncher();
        try
        {
            return main();
        }
        catch (Exception e)
        {
            Abort(e);
            return 1; // not reached: MPI_Abort ends the process
        }
    }

    /// <summary>Prints this rank's failure and aborts every rank of the job with exit code <paramref name="code"/>.</summary>
    public static void Abort(Exception error, int code = 1)
    {
        ArgumentNullException.ThrowIfNull(error);
        AbortJob($"failed, aborting the MPI job: {error.GetType().Name}: {error.Message}{Environment.NewLine}{error}", code);
    }

    /// <summary>
    /// Writes "ShardGen.Mpi: rank r <paramref name="what"/>" to standard error, flushed, and only then calls MPI_Abort:
    /// the reason is ShardGen's own line, whatever mpirun manages to print about the abort.
    /// </summary>
    internal static void AbortJob(string what, int code = 1)
    {
        if (Interlocked.Exchange(ref _aborting, 1) != 0) return;
        var world = _world;
        string rank = world is null ? "?" : world.Rank.ToString();
        try
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"ShardGen.Mpi: rank {rank} {what}");
            Console.Error.Flush();
        }
        catch (Exception e) when (e is System.IO.IOException or ObjectDisposedException)
        {
            // Standard error is gone: abort all the same.
        }
        if (world != null) world.Library.Abort(world.Library.CommWorld, code);
        Environment.Exit(code);
    }

    /// <summary>Finalizes MPI if ShardGen initialized it (also done at process exit). MPI cannot be used afterwards.</summary>
    public static void Shutdown()
    {
        lock (Gate)
        {
            if (_world == null || !_initializedHere || Volatile.Read(ref _aborting) != 0) return;
            var mpi = _world.Library;
            int flag = 0;
            mpi.Finalized(&flag);
            if (flag == 0)
            {
                Console.Out.Flush();
                _guard?.Leave(); // ranks still waiting for this one learn it has left, and abort instead of hanging
                mpi.FinalizeFn();
            }
            _initializedHere = false;
        }
    }
}
