using System;

namespace ShardGen.Cpu;

/// <summary>
/// A queued kernel or collective failed on a device. Thrown by the next Synchronize/Download of that device,
/// with the original failure as <see cref="Exception.InnerException"/>; the device is usable afterwards.
/// </summary>
public sealed class DeviceKernelException : InvalidOperationException
{
    public DeviceKernelException(string deviceName, Exception inner)
        : base($"A queued operation failed on device {deviceName}: {inner.Message}", inner)
    {
        DeviceName = deviceName;
    }

    public string DeviceName { get; }
}
