using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using ShardGen.Planning;

namespace ShardGen.Generators.Diagnostics;

/// <summary>Every diagnostic ShardGen reports. Keep <c>AnalyzerReleases.Unshipped.md</c> in sync.</summary>
internal static class DiagnosticIds
{
    public const string ModelNotPartial = "SHARD001";
    public const string LayerNotPartial = "SHARD002";
    public const string InvalidLayerProperty = "SHARD003";
    public const string LayerOutsideModel = "SHARD004";
    public const string MultipleStrategies = "SHARD005";
    public const string NonPositiveFeatures = ShardProblemIds.NonPositiveFeatures;   // SHARD006
    public const string FeaturesDoNotChain = ShardProblemIds.FeaturesDoNotChain;     // SHARD007
    public const string NotDivisibleByDevices = ShardProblemIds.NotDivisibleByDevices; // SHARD008
    public const string GridNotSquare = ShardProblemIds.GridNotSquare;               // SHARD009
    public const string NotDivisibleByGrid = ShardProblemIds.NotDivisibleByGrid;     // SHARD010
    public const string NoLayers = ShardProblemIds.NoLayers;                         // SHARD011
    public const string InvalidDeviceCount = ShardProblemIds.InvalidDeviceCount;     // SHARD012
    public const string UnsupportedModelType = "SHARD013";
    public const string ReservedMemberName = "SHARD014";
    public const string LayerAlreadyImplemented = "SHARD015";
    public const string UndefinedEnumValue = "SHARD016";
    public const string InvalidBlockShape = ShardProblemIds.InvalidBlockShape;                // SHARD017
    public const string HeadsNotDivisibleByDevices = ShardProblemIds.HeadsNotDivisibleByDevices; // SHARD018
    public const string SequenceParallelWithoutBlocks = "SHARD019";
    public const string LayerWithoutModel = "SHARD020";
    public const string ModelNamedLikeMember = "SHARD021";
    public const string LayerAttributeTargeted = "SHARD022";
    public const string ShadowedAttribute = "SHARD023";
    public const string LanguageModelOrder = "SHARD024";
    public const string IncompleteLanguageModel = "SHARD025";
    public const string ActivationLayerInLanguageModel = "SHARD026";
    public const string RopeThetaWithoutRotary = "SHARD027";
}

/// <summary>The descriptors, one per ID, all in category "ShardGen" with a help link.</summary>
internal static class DiagnosticDescriptors
{
    public const string Category = "ShardGen";

    /// <summary>
    /// The page every help link points into, <c>docs/diagnostics.md</c> of the repository, one anchor per ID.
    /// The one place to change when the repository moves.
    /// </summary>
    public const string HelpPage = "https://github.com/shardgen/shardgen/blob/main/docs/diagnostics.md";

    /// <summary>The help link of <paramref name="id"/>: its section of <see cref="HelpPage"/> (anchor "#shard001").</summary>
    public static string HelpLink(string id) => HelpPage + "#" + id.ToLowerInvariant();

    private static DiagnosticDescriptor Create(string id, string title, string message, DiagnosticSeverity severity = DiagnosticSeverity.Error) =>
        new(id, title, message, Category, severity, isEnabledByDefault: true, helpLinkUri: HelpLink(id));

    public static readonly DiagnosticDescriptor ModelNotPartial = Create(DiagnosticIds.ModelNotPartial,
        "Sharded model must be partial",
        "'{0}' must be declared partial: ShardGen generates the rest of the sharded model '{1}'");

    public static readonly DiagnosticDescriptor LayerNotPartial = Create(DiagnosticIds.LayerNotPartial,
        "Layer property must be a partial property",
        "Layer property '{0}' must be a partial property without a body, which ShardGen implements: '{1}'");

    public static readonly DiagnosticDescriptor InvalidLayerProperty = Create(DiagnosticIds.InvalidLayerProperty,
        "Layer property has the wrong shape",
        "Layer property '{0}' {1}; a layer is declared as '{2}'");

    public static readonly DiagnosticDescriptor LayerOutsideModel = Create(DiagnosticIds.LayerOutsideModel,
        "Layer attribute outside a sharded model",
        "[{0}] on '{1}' has no effect: '{2}' is not marked [ShardedModel]; add [ShardedModel] to '{2}' (and make it partial) or remove the attribute",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor MultipleStrategies = Create(DiagnosticIds.MultipleStrategies,
        "Layer has more than one strategy",
        "Layer '{0}' has both [{1}] and [{2}]; a layer uses exactly one strategy, remove one of them");

    public static readonly DiagnosticDescriptor NonPositiveFeatures = Create(DiagnosticIds.NonPositiveFeatures,
        "Layer features must be positive", "{0}");

    public static readonly DiagnosticDescriptor FeaturesDoNotChain = Create(DiagnosticIds.FeaturesDoNotChain,
        "Consecutive layers do not chain", "{0}");

    public static readonly DiagnosticDescriptor NotDivisibleByDevices = Create(DiagnosticIds.NotDivisibleByDevices,
        "Features not divisible by the device count", "{0}");

    public static readonly DiagnosticDescriptor GridNotSquare = Create(DiagnosticIds.GridNotSquare,
        "Summa2D needs a square device count", "{0}");

    public static readonly DiagnosticDescriptor NotDivisibleByGrid = Create(DiagnosticIds.NotDivisibleByGrid,
        "Summa2D features not divisible by the grid side", "{0}");

    public static readonly DiagnosticDescriptor NoLayers = Create(DiagnosticIds.NoLayers,
        "Sharded model has no layers", "{0}");

    public static readonly DiagnosticDescriptor InvalidDeviceCount = Create(DiagnosticIds.InvalidDeviceCount,
        "Invalid device count", "{0}");

    public static readonly DiagnosticDescriptor UnsupportedModelType = Create(DiagnosticIds.UnsupportedModelType,
        "Unsupported sharded model type",
        "[ShardedModel] cannot be used on '{0}': {1}");

    public static readonly DiagnosticDescriptor ReservedMemberName = Create(DiagnosticIds.ReservedMemberName,
        "Member name is reserved by ShardGen",
        "'{0}' conflicts with the member '{1}' that ShardGen generates for '{2}'; rename it");

    public static readonly DiagnosticDescriptor LayerAlreadyImplemented = Create(DiagnosticIds.LayerAlreadyImplemented,
        "Layer property already implemented",
        "Layer property '{0}' already has an implementing declaration; remove it: ShardGen implements layer properties");

    public static readonly DiagnosticDescriptor UndefinedEnumValue = Create(DiagnosticIds.UndefinedEnumValue,
        "Undefined enum value on a layer",
        "Layer '{0}' sets {1} = {2}, which is not a defined ShardGen.{3} value");

    public static readonly DiagnosticDescriptor InvalidBlockShape = Create(DiagnosticIds.InvalidBlockShape,
        "Invalid transformer block shape", "{0}");

    public static readonly DiagnosticDescriptor HeadsNotDivisibleByDevices = Create(DiagnosticIds.HeadsNotDivisibleByDevices,
        "Attention heads do not fit the device count", "{0}");

    public static readonly DiagnosticDescriptor SequenceParallelWithoutBlocks = Create(DiagnosticIds.SequenceParallelWithoutBlocks,
        "Sequence parallelism without a transformer block",
        "SequenceParallel = true has no effect: the model has no transformer block; remove SequenceParallel from '{0}' or add a [TransformerBlock] layer",
        DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor LayerWithoutModel = Create(DiagnosticIds.LayerWithoutModel,
        "Partial layer property outside a sharded model",
        "Layer property '{0}' is partial, but ShardGen implements layers only in a [ShardedModel] class and '{1}' has none; add [ShardedModel] to '{1}' (or remove [{2}] and implement '{0}' yourself)");

    public static readonly DiagnosticDescriptor ModelNamedLikeMember = Create(DiagnosticIds.ModelNamedLikeMember,
        "Model class named like a generated member",
        "The model class '{0}' has the name of the member '{1}' that ShardGen generates in it, and a member cannot be named like its class; rename the class (for example to '{1}Model')");

    public static readonly DiagnosticDescriptor LayerAttributeTargeted = Create(DiagnosticIds.LayerAttributeTargeted,
        "Layer attribute with an attribute target",
        "[{0}] on '{1}' is written with the target '{2}:', so it does not apply to the property and the layer would be left out; remove '{2}:'");

    public static readonly DiagnosticDescriptor ShadowedAttribute = Create(DiagnosticIds.ShadowedAttribute,
        "ShardGen attribute shadowed by another type",
        "[{0}] on '{1}' resolves to '{2}', not to {3}, so ShardGen ignores it; write [ShardGen.{0}] or rename '{2}'");

    public static readonly DiagnosticDescriptor LanguageModelOrder = Create(DiagnosticIds.LanguageModelOrder,
        "Language-model layers out of order", "{0}");

    public static readonly DiagnosticDescriptor IncompleteLanguageModel = Create(DiagnosticIds.IncompleteLanguageModel,
        "Language model without a token embedding or an LM head", "{0}");

    public static readonly DiagnosticDescriptor ActivationLayerInLanguageModel = Create(DiagnosticIds.ActivationLayerInLanguageModel,
        "Layer of an activation model in a language model",
        "Layer '{0}' ([{1}]) cannot be part of the language model '{2}': its Forward takes float[,] activations, a language model's takes token ids; " +
        "declare the blocks with [TransformerStack], or move '{0}' to a model of its own");

    public static readonly DiagnosticDescriptor RopeThetaWithoutRotary = Create(DiagnosticIds.RopeThetaWithoutRotary,
        "RopeTheta without rotary position embeddings",
        "Stack '{0}' sets RopeTheta = {1} but Rotary = false, so nothing uses it; remove RopeTheta or set Rotary = true",
        DiagnosticSeverity.Warning);

    private static readonly Dictionary<string, DiagnosticDescriptor> ById = new()
    {
        [ModelNotPartial.Id] = ModelNotPartial,
        [LayerNotPartial.Id] = LayerNotPartial,
        [InvalidLayerProperty.Id] = InvalidLayerProperty,
        [LayerOutsideModel.Id] = LayerOutsideModel,
        [MultipleStrategies.Id] = MultipleStrategies,
        [NonPositiveFeatures.Id] = NonPositiveFeatures,
        [FeaturesDoNotChain.Id] = FeaturesDoNotChain,
        [NotDivisibleByDevices.Id] = NotDivisibleByDevices,
        [GridNotSquare.Id] = GridNotSquare,
        [NotDivisibleByGrid.Id] = NotDivisibleByGrid,
        [NoLayers.Id] = NoLayers,
        [InvalidDeviceCount.Id] = InvalidDeviceCount,
        [UnsupportedModelType.Id] = UnsupportedModelType,
        [ReservedMemberName.Id] = ReservedMemberName,
        [LayerAlreadyImplemented.Id] = LayerAlreadyImplemented,
        [UndefinedEnumValue.Id] = UndefinedEnumValue,
        [InvalidBlockShape.Id] = InvalidBlockShape,
        [HeadsNotDivisibleByDevices.Id] = HeadsNotDivisibleByDevices,
        [SequenceParallelWithoutBlocks.Id] = SequenceParallelWithoutBlocks,
        [LayerWithoutModel.Id] = LayerWithoutModel,
        [ModelNamedLikeMember.Id] = ModelNamedLikeMember,
        [LayerAttributeTargeted.Id] = LayerAttributeTargeted,
        [ShadowedAttribute.Id] = ShadowedAttribute,
        [LanguageModelOrder.Id] = LanguageModelOrder,
        [IncompleteLanguageModel.Id] = IncompleteLanguageModel,
        [ActivationLayerInLanguageModel.Id] = ActivationLayerInLanguageModel,
        [RopeThetaWithoutRotary.Id] = RopeThetaWithoutRotary,
    };

    /// <summary>Every descriptor, in ID order.</summary>
    public static IEnumerable<DiagnosticDescriptor> All => ById.Values.OrderBy(d => d.Id, System.StringComparer.Ordinal);

    /// <summary>The descriptor of <paramref name="id"/>, or null for an unknown ID.</summary>
    public static DiagnosticDescriptor? Find(string id) => ById.TryGetValue(id, out var d) ? d : null;
}
