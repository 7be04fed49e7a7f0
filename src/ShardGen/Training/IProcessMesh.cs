using System;
using System.Collections.Generic;

namespace ShardGen.Training;

/// <summary>
/// A mesh whose devices live in several processes (MPI), one device per process: each process holds only its own
/// device's slices, so the global gradient norm and a saved checkpoint need the others. Every member is collective:
/// every process of the job calls it, in the same order (SPMD).
/// </summary>
internal interface IProcessMesh
{
    /// <summary>The sum of <paramref name="value"/> over the mesh's processes, added in rank order: the same double in each.</summary>
    double SumOverMesh(double value);

    /// <summary>Every process's <paramref name="mine"/> (lengths may differ) over the mesh's processes, in rank order.</summary>
    long[][] GatherOverMesh(long[] mine);

    /// <summary>True in the one process of the job that writes a checkpoint: device 0 of the first replica.</summary>
    bool IsWriter { get; }

    /// <summary>True in the first replica's other processes: they send their slices to the writer.</summary>
    bool SendsToWriter { get; }

    /// <summary>
    /// Over the whole job: the writer's <paramref name="error"/> (null: none) reaches every process, which returns it
    /// (the other processes' arguments are ignored).
    /// </summary>
    string? ShareWriterOutcome(string? error);

    /// <summary>
    /// Over the whole job: each sender's <paramref name="mine"/> (its slices packed end to end, <paramref name="counts"/>[its rank]
    /// floats) reaches the writer, which gets <paramref name="receive"/>(rank, data) for ranks 1..P−1 in order. A process
    /// that could not pack passes null; then nothing is sent and every process gets the job ranks that failed (else empty).
    /// </summary>
    IReadOnlyList<int> GatherToWriter(float[]? mine, long[] counts, Action<int, ReadOnlySpan<float>> receive);
}
