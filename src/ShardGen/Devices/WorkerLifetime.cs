using System;

namespace ShardGen.Devices;

/// <summary>A device worker's queue that can be told to drain and exit.</summary>
internal interface IStoppableWorker
{
    void BeginStop();
}

/// <summary>
/// Finalizable handle a device holds on its worker thread. The thread's loop references only its queue (never the
/// device), so a device dropped without Dispose becomes unreachable; this tiny object then goes with it, and its
/// finalizer tells the queue to drain and exit (touching only the queue, which is never finalized).
/// </summary>
internal sealed class WorkerLifetime(IStoppableWorker worker)
{
    /// <summary>Dispose stops the worker itself.</summary>
    public void Disown() => GC.SuppressFinalize(this);

    ~WorkerLifetime() => worker.BeginStop();
}
