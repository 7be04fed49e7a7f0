using System.Threading;
using ShardGen.Devices;
using ShardGen.Kernels;

namespace ShardGen.Cpu;

/// <summary>
/// The worker of one <see cref="CpuDevice"/>: a <see cref="QueuedWorker{TCommand}"/> of struct commands (enqueuing
/// copies a struct, it never allocates) and everything its thread uses to run them: GEMM workspaces, thread team,
/// memory registry, all freed by the thread on its way out.
/// </summary>
internal sealed unsafe partial class CpuWorker : QueuedWorker<DeviceCommand>
{
    private readonly KernelThreadTeam? _team;
    private readonly GemmWorkspace[] _workspaces;

    public CpuWorker(string name, int threads, bool spin) : base(name, spin)
    {
        _workspaces = new GemmWorkspace[threads];
        for (int i = 0; i < threads; i++) _workspaces[i] = new GemmWorkspace();
        if (threads > 1) _team = new KernelThreadTeam(threads, name);
        Start();
    }

    /// <summary>The worker thread and the team's helpers: every thread this device started.</summary>
    public Thread[] AllThreads => _team is null ? [Thread] : [Thread, .. _team.Helpers];

    /// <summary>The device's native allocations still held.</summary>
    public CpuMemoryRegistry Memory { get; } = new();

    protected override void ReleaseAll()
    {
        _team?.Dispose();
        foreach (var w in _workspaces) w.Dispose();
        Memory.FreeAll();
    }
}
