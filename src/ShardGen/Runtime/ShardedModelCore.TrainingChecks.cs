using System.Linq;
using ShardGen.Planning;

namespace ShardGen.Runtime;

// What training refuses before a pass starts.
public sealed partial class ShardedModelCore
{
    /// <summary>
    /// Fewer key/value heads than devices: each KV head is replicated on the devices whose query heads read it, and
    /// each copy's gradient would hold only its own query heads' part (summing them over the group is not implemented).
    /// </summary>
    private void CheckTrainable()
    {
        foreach (var layer in Plan.Layers)
        {
            var block = layer switch { TransformerStack s => s.Block, TransformerBlock b => b, _ => null };
            if (block is null || block.KvHeads >= block.Devices) continue;
            var works = Enumerable.Range(1, block.KvHeads).Where(p => block.KvHeads % p == 0 && block.Heads % p == 0);
            throw new ShardingException(
                $"{Plan.ModelName}: cannot train '{block.Name}' on {block.Devices} devices: its {block.Heads} attention heads share {block.KvHeads} key/value heads, " +
                $"so each key/value head is replicated on {block.Devices / block.KvHeads} devices and each copy would get only its own query heads' part of the gradient. " +
                $"Train on a device count that divides {block.KvHeads}: P = {string.Join(", ", works)}.");
        }
    }
}
