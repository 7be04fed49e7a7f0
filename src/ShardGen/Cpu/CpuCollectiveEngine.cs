using System.Collections.Generic;
using ShardGen.Collectives;

namespace ShardGen.Cpu;

/// <summary>
/// In-process collectives between <see cref="CpuDevice"/>s: the shared schedules over the CPU transport
/// (<see cref="CpuCollective"/>), each member's part queued as a struct command, so a steady stream of collectives
/// allocates nothing.
/// </summary>
public sealed class CpuCollectiveEngine : ScheduledCollectiveEngine<CpuDevice>
{
    private readonly CpuDeviceMesh _mesh;

    internal CpuCollectiveEngine(CollectiveStats stats, CpuDeviceMesh mesh) : base(stats) => _mesh = mesh;

    private protected override IReadOnlyList<CpuDevice> MeshDevices => _mesh.CpuDevices;

    private protected override ScheduledCollective<CpuDevice> Create(CollectiveKind kind, int size) => new CpuCollective(kind, size, Stats);

    private protected override void Enqueue(CpuDevice device, ScheduledCollective<CpuDevice> op, int member) =>
        device.Enqueue(DeviceCommand.Collective(op, member));
}
