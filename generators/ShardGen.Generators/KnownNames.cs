namespace ShardGen.Generators;

/// <summary>Metadata names of the runtime types the generator looks for.</summary>
internal static class KnownNames
{
    public const string ShardedModelAttribute = "ShardGen.ShardedModelAttribute";
    public const string ColumnParallelAttribute = "ShardGen.ColumnParallelAttribute";
    public const string RowParallelAttribute = "ShardGen.RowParallelAttribute";
    public const string Summa2DAttribute = "ShardGen.Summa2DAttribute";
    public const string TransformerBlockAttribute = "ShardGen.TransformerBlockAttribute";
    public const string Linear = "ShardGen.Linear";
    public const string TransformerBlock = "ShardGen.TransformerBlock";
}
