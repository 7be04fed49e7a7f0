using System.Collections.Generic;

namespace ShardGen.Training;

/// <summary>
/// One all-reduce of the data-parallel gradient sum: gradient slices of one tensor-parallel rank, either packed end to
/// end into a contiguous bucket (<see cref="Packed"/>: slice <see cref="Slices"/>[i] at <see cref="Offsets"/>[i]) or
/// one contiguous slice reduced where it lies.
/// </summary>
internal sealed record GradientBucket(int Rank, int[] Slices, int[] Offsets, int Elements, bool Packed);

/// <summary>Cuts each rank's gradient slices into buckets of at most a given size, in slice order.</summary>
internal static class GradientBuckets
{
    /// <summary>
    /// Buckets of every rank. A slice at least as large as a bucket that is contiguous in every replica is reduced on
    /// its own where it lies (no copy); smaller ones are packed greedily. Empty slices are skipped.
    /// </summary>
    public static List<GradientBucket> Plan(IReadOnlyList<ModelTraining> replicas, int bucketElements)
    {
        var slices = replicas[0].Gradients;
        var buckets = new List<GradientBucket>();
        var members = new List<int>();
        var offsets = new List<int>();
        int rank = -1, filled = 0;
        void Flush()
        {
            if (members.Count > 0) buckets.Add(new GradientBucket(rank, members.ToArray(), offsets.ToArray(), filled, Packed: true));
            members.Clear();
            offsets.Clear();
            filled = 0;
        }
        for (int i = 0; i < slices.Count; i++)
        {
            var slice = slices[i];
            int elements = slice.Rows * slice.Cols;
            if (elements == 0) continue;
            if (slice.Rank != rank)
            {
                Flush();
                rank = slice.Rank;
            }
            if (elements >= bucketElements && ContiguousEverywhere(replicas, i))
            {
                buckets.Add(new GradientBucket(rank, [i], [0], elements, Packed: false));
                continue;
            }
            if (filled > 0 && (long)filled + elements > bucketElements) Flush();
            members.Add(i);
            offsets.Add(filled);
            filled += elements;
        }
        Flush();
        return buckets;
    }

    private static bool ContiguousEverywhere(IReadOnlyList<ModelTraining> replicas, int slice)
    {
        foreach (var replica in replicas)
            if (!replica.Gradients[slice].Value.IsContiguous) return false;
        return true;
    }
}
