using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace ShardGen.Planning.Steps;

/// <summary>
/// Every <see cref="StepType"/>, found by reflection over this assembly (the runtime's, or the generator's, which
/// compiles the same files): a new step kind is one file in this folder, nothing to list. A concrete subclass has one
/// instance from its parameterless constructor; a kind parameterised by a shard axis or target
/// (<see cref="AllGather"/>, <see cref="ReduceScatter"/>, <see cref="Slice"/>) declares its instances in a static
/// <c>Instances</c> property instead, told apart by the placements they move between.
/// </summary>
internal static class StepCatalog
{
    /// <summary>The name of the static property an axis-parameterised kind lists its instances in.</summary>
    private const string InstancesMember = "Instances";

    /// <summary>Every step type (one per kind, one per axis for an axis-parameterised kind), by kind name.</summary>
    public static IReadOnlyList<StepType> All { get; } = Discover();

    private static readonly Dictionary<Type, StepType[]> ByKind = Index(All);

    /// <summary>Every kind: the concrete <see cref="StepType"/> subclasses, by name.</summary>
    public static IReadOnlyList<Type> Kinds { get; } = All.Select(t => t.GetType()).Distinct().ToArray();

    /// <summary>The one instance of kind <typeparamref name="T"/>; an axis-parameterised kind needs its placements.</summary>
    public static T Get<T>() where T : StepType => Variants(typeof(T)) is { Length: 1 } one
        ? (T)one[0]
        : throw new InvalidOperationException($"Step kind {typeof(T).Name} has one catalog type per axis: name the placements it moves between.");

    /// <summary>The instance of kind <typeparamref name="T"/> moving <paramref name="input"/> to <paramref name="output"/>.</summary>
    public static T Get<T>(Placement input, Placement output) where T : StepType => (T)Find(typeof(T), input, output);

    /// <summary>The instance of kind <paramref name="kind"/> moving <paramref name="input"/> to <paramref name="output"/>.</summary>
    public static StepType Find(Type kind, Placement input, Placement output)
    {
        foreach (var type in Variants(kind))
            if (type.Input == input && type.Output == output) return type;
        throw new InvalidOperationException($"Step kind {kind.Name} has no catalog type moving {input} to {output}.");
    }

    /// <summary>The instances of kind <paramref name="kind"/> (a concrete <see cref="StepType"/> subclass).</summary>
    public static StepType[] Variants(Type kind) => ByKind.TryGetValue(kind, out var variants)
        ? variants
        : throw new InvalidOperationException($"{kind.Name} is not a concrete step kind in Planning/Steps.");

    /// <summary>Instantiates every concrete <see cref="StepType"/> subclass of this assembly, ordered by name.</summary>
    private static StepType[] Discover()
    {
        var result = new List<StepType>();
        var kinds = TypesOfThisAssembly()
            .Where(t => !t.IsAbstract && typeof(StepType).IsAssignableFrom(t))
            .OrderBy(t => t.Name, StringComparer.Ordinal);
        foreach (var kind in kinds)
        {
            var instances = kind.GetProperty(InstancesMember, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static);
            if (instances is not null)
            {
                if (instances.GetValue(null) is not IEnumerable<StepType> list)
                    throw new InvalidOperationException($"Step kind {kind.Name}.{InstancesMember} must be an IEnumerable<StepType>.");
                foreach (var type in list)
                {
                    if (type.GetType() != kind)
                        throw new InvalidOperationException($"Step kind {kind.Name}.{InstancesMember} lists a {type.GetType().Name}: list only {kind.Name} instances.");
                    result.Add(type);
                }
                continue;
            }
            if (kind.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, null, Type.EmptyTypes, null) is not { } constructor)
                throw new InvalidOperationException(
                    $"Step kind {kind.Name} has no parameterless constructor: give it one, or list its instances in a static {InstancesMember} property.");
            result.Add((StepType)constructor.Invoke(null));
        }
        return result.ToArray();
    }

    /// <summary>
    /// The types of this assembly. Inside a compiler that cannot load some referenced assembly, the types it could load
    /// (every step type only references this assembly and the BCL).
    /// </summary>
    private static IEnumerable<Type> TypesOfThisAssembly()
    {
        try
        {
            return typeof(StepType).Assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.Where(t => t is not null).Cast<Type>();
        }
    }

    /// <summary>
    /// Groups the types by kind and checks that no two types of one kind move the same placements, and that no two
    /// transitions (nor uploads, nor downloads) do, so <see cref="Find"/> and <see cref="Transitions"/> are unambiguous.
    /// </summary>
    private static Dictionary<Type, StepType[]> Index(IReadOnlyList<StepType> types)
    {
        var byKind = new Dictionary<Type, List<StepType>>();
        var moves = new List<StepType>();
        foreach (var type in types)
        {
            if (!byKind.TryGetValue(type.GetType(), out var same)) byKind[type.GetType()] = same = new List<StepType>();
            foreach (var other in same)
            {
                if (other.Input == type.Input && other.Output == type.Output)
                    throw new InvalidOperationException($"Step kind {type.Name} has two catalog types moving {type.Input} to {type.Output}.");
            }
            same.Add(type);
            if (!type.MovesData) continue;
            foreach (var other in moves)
            {
                if (other.Input == type.Input && other.Output == type.Output && other.AcceptsAnyInput == type.AcceptsAnyInput)
                    throw new InvalidOperationException(
                        $"Step kinds {other.Name} and {type.Name} both move {type.Input} to {type.Output}: the planner could pick either; keep one.");
            }
            moves.Add(type);
        }
        return byKind.ToDictionary(p => p.Key, p => p.Value.ToArray());
    }
}
