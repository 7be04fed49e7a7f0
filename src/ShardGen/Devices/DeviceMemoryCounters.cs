using System.Threading;

namespace ShardGen.Devices;

/// <summary>
/// The memory figures of one device, kept apart from it: buffer owners release into them from the finalizer thread,
/// and an object that is never finalized stays safe to touch there whatever else has been collected.
/// </summary>
internal sealed class DeviceMemoryCounters
{
    private long _liveElements;
    private int _liveBuffers;
    private long _pooledElements;
    private long _made;
    private long _peakElements;

    public long LiveElements => Interlocked.Read(ref _liveElements);

    /// <summary>Buffers ever made on the device (a pool's reuse makes none).</summary>
    public long Made => Interlocked.Read(ref _made);

    /// <summary>The most elements held at once (live and pooled) since the device was made or the peak was reset.</summary>
    public long PeakElements => Interlocked.Read(ref _peakElements);

    /// <summary>A new buffer: counted live, and the peak raised to what the device now holds.</summary>
    public void CountMade(long elements)
    {
        Interlocked.Increment(ref _made);
        CountBuffer(elements, +1);
        RaisePeak();
    }

    /// <summary>Starts a new peak from what the device holds now.</summary>
    public void ResetPeak() => Interlocked.Exchange(ref _peakElements, LiveElements + PooledElements);

    private void RaisePeak()
    {
        long held = LiveElements + PooledElements, peak;
        while (held > (peak = Interlocked.Read(ref _peakElements)) && Interlocked.CompareExchange(ref _peakElements, held, peak) != peak) { }
    }

    public int LiveBuffers => Volatile.Read(ref _liveBuffers);

    public long PooledElements => Interlocked.Read(ref _pooledElements);

    public void CountBuffer(long elements, int sign)
    {
        Interlocked.Add(ref _liveElements, sign * elements);
        Interlocked.Add(ref _liveBuffers, sign);
    }

    public void CountPooled(long elements, int sign) => Interlocked.Add(ref _pooledElements, sign * elements);
}

/// <summary>
/// One buffer's entry in its device's <see cref="DeviceMemoryCounters"/>: counted once when made, released exactly
/// once (by Dispose or by the buffer's finalizable owner, whichever comes first), in use or parked in a pool.
/// </summary>
internal sealed class BufferAccount
{
    private readonly DeviceMemoryCounters _counters;
    private readonly long _elements;
    private int _parked;   // 1 while an activation pool keeps the buffer between passes
    private int _released;

    public BufferAccount(DeviceMemoryCounters counters, long elements)
    {
        _counters = counters;
        _elements = elements;
        counters.CountMade(elements);
    }

    /// <summary>Moves the buffer between "in use" and "pooled"; ignored once released.</summary>
    public void Park(bool parked)
    {
        if (Volatile.Read(ref _released) != 0) return;
        if (Interlocked.Exchange(ref _parked, parked ? 1 : 0) == (parked ? 1 : 0)) return;
        _counters.CountBuffer(_elements, parked ? -1 : +1);
        _counters.CountPooled(_elements, parked ? +1 : -1);
    }

    /// <summary>Takes the buffer out of the figures; every call after the first does nothing.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        if (Interlocked.Exchange(ref _parked, 0) == 1) _counters.CountPooled(_elements, -1);
        else _counters.CountBuffer(_elements, -1);
    }
}
