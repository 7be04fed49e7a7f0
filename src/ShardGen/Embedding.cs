using ShardGen.Planning;

namespace ShardGen;

/// <summary>
/// An embedding table as planned on a mesh. A token embedding ([VocabParallelEmbedding]) is split by vocabulary rows:
/// device r holds rows [<see cref="FirstRow"/>(r), + <see cref="Rows"/>(r)), uneven when the vocabulary does not
/// divide. A position embedding ([PositionEmbedding]) is replicated.
/// </summary>
public sealed class Embedding : PlannedLayer
{
    internal Embedding(LayerSpec spec, int index, int devices) : base(spec, index, devices) { }

    /// <summary>Rows of the whole table: the vocabulary, or the positions.</summary>
    public int TableRows => Spec.InFeatures;

    /// <summary>Width of a row: the residual stream.</summary>
    public int Hidden => Spec.OutFeatures;

    /// <summary>True for the vocabulary-parallel token embedding, false for replicated position embeddings.</summary>
    public bool IsVocabParallel => Spec.Strategy == ParallelStrategy.VocabEmbedding;

    /// <summary>The first table row device <paramref name="rank"/> holds.</summary>
    public int FirstRow(int rank) => IsVocabParallel ? EvenRanges.Start(TableRows, Devices, rank) : 0;

    /// <summary>The table rows device <paramref name="rank"/> holds.</summary>
    public int Rows(int rank) => IsVocabParallel ? EvenRanges.Length(TableRows, Devices, rank) : TableRows;

    /// <summary>The most bytes any device holds (device 0 has the largest vocabulary range).</summary>
    public override long BytesPerDevice => (long)Rows(0) * Hidden * PlanCost.BytesPerElement;

    public override string ToString() => IsVocabParallel
        ? $"{Name}: vocab-parallel embedding [{TableRows}, {Hidden}] → rows [{Rows(0)}{(TableRows % Devices == 0 ? "" : $" or {Rows(Devices - 1)}")}, {Hidden}] on each of {Devices} devices"
        : $"{Name}: position embedding [{TableRows}, {Hidden}], replicated on {Devices} devices";
}
