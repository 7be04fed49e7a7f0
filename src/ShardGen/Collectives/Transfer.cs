namespace ShardGen.Collectives;

/// <summary>What the receiver of a <see cref="Transfer"/> does with the chunk: overwrite its own copy, or add to it.</summary>
internal enum TransferOp : byte
{
    Copy,
    Add,
}

/// <summary>
/// One message of a <see cref="CollectiveSchedule"/>: in <paramref name="Step"/>, member <paramref name="From"/> sends its
/// chunk <paramref name="Chunk"/> to member <paramref name="To"/>, which copies it over, or adds it into, its own chunk.
/// Members are indices into the group; chunks index what the collective cuts its data into.
/// </summary>
internal readonly record struct Transfer(int Step, int From, int To, int Chunk, TransferOp Op);
