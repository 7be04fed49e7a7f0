using System;
using System.Globalization;
using System.IO;
using System.Threading;

namespace ShardGen.Samples;

/// <summary>
/// This process's memory, from /proc/self/status (Linux): the peak resident set (VmHWM), which also counts the pages of
/// the memory-mapped checkpoint this process has touched (file-backed, shared with the page cache), and the peak of its
/// private memory (RssAnon), sampled every few milliseconds from <see cref="StartSampling"/> on.
/// </summary>
internal static class PeakMemory
{
    private static long _peakPrivate = -1;
    private static Timer? _sampler;

    /// <summary>Starts sampling RssAnon every 5 ms, for <see cref="PeakPrivateBytes"/>.</summary>
    public static void StartSampling()
    {
        Sample();
        _sampler = new Timer(_ => Sample(), null, 5, 5);
    }

    /// <summary>Peak RSS in bytes (VmHWM), or −1 where /proc is not there.</summary>
    public static long PeakBytes() => Field("VmHWM:");

    /// <summary>The largest RssAnon seen since <see cref="StartSampling"/> (and now), or −1 where /proc is not there.</summary>
    public static long PeakPrivateBytes()
    {
        _sampler?.Dispose();
        Sample();
        return Interlocked.Read(ref _peakPrivate);
    }

    private static void Sample()
    {
        long now = Field("RssAnon:");
        long seen;
        while (now > (seen = Interlocked.Read(ref _peakPrivate)) && Interlocked.CompareExchange(ref _peakPrivate, now, seen) != seen) { }
    }

    private static long Field(string name)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(name, StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries); // "VmHWM:", "123456", "kB"
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return -1;
    }
}
