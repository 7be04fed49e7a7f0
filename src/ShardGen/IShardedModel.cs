using System;

namespace ShardGen;

/// <summary>
/// What every generated model offers, so tools, samples and tests can handle any of them alike.
/// Generated models implement it; their static <c>Create</c>, <c>PlanFor</c> and nested <c>Weights</c>
/// are model-specific.
/// </summary>
public interface IShardedModel : IDisposable
{
    /// <summary>Runs the model on x [tokens, in]; returns [tokens, out].</summary>
    float[,] Forward(float[,] x);

    /// <summary>The plan this instance runs.</summary>
    ModelPlan Plan { get; }

    DeviceMesh Mesh { get; }

    /// <summary>Collectives measured during the last Forward; null before the first. In-process meshes refill it in place at the next Forward.</summary>
    TrafficReport? LastForward { get; }
}
