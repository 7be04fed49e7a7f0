using System;
using System.Collections.Generic;
using ShardGen.Devices;

namespace ShardGen.Runtime;

/// <summary>
/// A model's pool of activation buffers, keyed by (device, length). A pass rents its activations here and
/// returns them when it ends, so a steady-state pass neither allocates device memory nor zero-fills it: every
/// step fully overwrites the buffers it produces, so stale contents are never read. Buffers no pass has rented
/// for a few passes are freed, which bounds the pool to about one pass's working set per shape in use.
/// Used only under the mesh's execution gate (one pass at a time), hence no lock.
/// </summary>
internal sealed class ActivationArena : IDisposable
{
    /// <summary>Passes an idle buffer survives without being rented (covers a few alternating batch shapes).</summary>
    private const int IdlePassesKept = 4;

    private readonly Dictionary<(Device Device, int Length), List<Idle>> _idle = new();
    private long _pass;
    private bool _disposed;

    private readonly record struct Idle(DeviceBuffer Buffer, long ReturnedAt);

    public DeviceBuffer Rent(Device device, int length)
    {
        if (_idle.TryGetValue((device, length), out var list) && list.Count > 0)
        {
            var buffer = list[^1].Buffer;
            list.RemoveAt(list.Count - 1);
            buffer.Park(false);
            return buffer;
        }
        return device.Allocate(length);
    }

    /// <summary>Takes a buffer back once the pass that used it has finished on its device.</summary>
    public void Return(DeviceBuffer buffer)
    {
        if (_disposed)
        {
            buffer.Dispose();
            return;
        }
        buffer.Park(true);
        var key = (buffer.Device, buffer.Length);
        if (!_idle.TryGetValue(key, out var list)) _idle[key] = list = new List<Idle>();
        list.Add(new Idle(buffer, _pass));
    }

    /// <summary>Ends a pass: frees the buffers that stayed idle for <see cref="IdlePassesKept"/> passes.</summary>
    public void EndPass()
    {
        _pass++;
        foreach (var (key, list) in _idle)
        {
            int kept = 0;
            for (int i = 0; i < list.Count; i++)
            {
                if (_pass - list[i].ReturnedAt > IdlePassesKept) list[i].Buffer.Dispose();
                else list[kept++] = list[i];
            }
            list.RemoveRange(kept, list.Count - kept);
            if (kept == 0) _idle.Remove(key); // allowed while enumerating since .NET Core 3.0
        }
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var list in _idle.Values)
            foreach (var idle in list) idle.Buffer.Dispose();
        _idle.Clear();
    }
}
