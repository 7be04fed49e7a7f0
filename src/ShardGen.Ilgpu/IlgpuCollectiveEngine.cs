using System.Collections.Generic;
using ShardGen.Collectives;

namespace ShardGen.Ilgpu;

/// <summary>
/// Collectives between the accelerators of an <see cref="IlgpuDeviceMesh"/>: the CPU backend's schedules, checks and
/// byte counts over the accelerator transport (<see cref="IlgpuCollective"/>).
/// </summary>
public sealed class IlgpuCollectiveEngine : ScheduledCollectiveEngine<IlgpuDevice>
{
    private readonly IlgpuDeviceMesh _mesh;

    internal IlgpuCollectiveEngine(CollectiveStats stats, IlgpuDeviceMesh mesh) : base(stats) => _mesh = mesh;

    private protected override IReadOnlyList<IlgpuDevice> MeshDevices => _mesh.IlgpuDevices;

    private protected override ScheduledCollective<IlgpuDevice> Create(CollectiveKind kind, int size) => new IlgpuCollective(kind, size, Stats, _mesh);

    private protected override void Enqueue(IlgpuDevice device, ScheduledCollective<IlgpuDevice> op, int member) =>
        device.Enqueue(() => op.Run(member));
}
