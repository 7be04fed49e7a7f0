using System;
using System.Collections.Generic;

namespace ShardGen.Training;

/// <summary>
/// Data parallelism: D replicas of one tensor-parallel model (each on its own P devices) that train on different
/// windows of the same global batch. After each replica's backward their gradients are summed across replicas,
/// slice by slice (each slice with the slice of the same rank in the other replicas), in buckets.
/// CONTRACT STUB: helper i14-data-parallel implements it.
/// </summary>
public static class ReplicaGroup
{
    /// <summary>Sums every gradient slice over <paramref name="replicas"/> in place, so that each replica holds the total.</summary>
    public static void SumGradients(IReadOnlyList<ModelTraining> replicas)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        if (replicas.Count > 1) throw new NotImplementedException();
    }
}
