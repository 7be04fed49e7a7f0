using System.Collections.Generic;

namespace ShardGen.Devices;

/// <summary>An ordered set of devices that take part in one collective (the mesh, a grid row or column).</summary>
public sealed class DeviceGroup
{
    public DeviceGroup(string name, IReadOnlyList<Device> members)
    {
        Name = name;
        Members = members;
    }

    /// <summary>"world", "grid row 1", "grid column 0", …</summary>
    public string Name { get; }

    /// <summary>Members in collective order; member i of a ring sends to member (i+1) mod Size.</summary>
    public IReadOnlyList<Device> Members { get; }

    public int Size => Members.Count;

    public override string ToString() => $"{Name} ({Size} devices)";
}
