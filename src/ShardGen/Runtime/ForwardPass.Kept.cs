using System;

namespace ShardGen.Runtime;

// The array a generated ForwardBackward keeps each block's activations in, reused by the model's next pass.
public sealed partial class ForwardPass
{
    private Array? _kept;

    /// <summary>
    /// An array of <paramref name="blocks"/> entries for what each block of a stack keeps for its backward: the last
    /// pass's when it has the same type and length (a model reuses its pass, so a steady-state ForwardBackward makes
    /// none). Its stale entries are overwritten by the forward before the backward reads them; they only hold the pass's
    /// own scratch tensors, so keeping them holds nothing the pass does not.
    /// </summary>
    public T[] KeptBlocks<T>(int blocks) where T : struct
    {
        ExpectTraining(nameof(KeptBlocks));
        if (_kept is T[] kept && kept.Length == blocks) return kept;
        var made = new T[blocks];
        _kept = made;
        return made;
    }
}
