namespace ShardGen.Ilgpu;

/// <summary>Which ILGPU accelerators a mesh is made of.</summary>
public enum IlgpuBackend
{
    /// <summary>
    /// ILGPU's CPU accelerator: a GPU emulator (every group thread is an OS thread, barriers are real). For tests
    /// and debugging without a GPU; far slower than the CPU backend (<see cref="DeviceMesh.CreateCpu"/>).
    /// </summary>
    Cpu,

    /// <summary>NVIDIA GPUs through CUDA: one device per GPU, or several round-robin on the GPUs there are.</summary>
    Cuda,

    /// <summary>OpenCL devices (GPUs first): one device per OpenCL device, or several round-robin.</summary>
    OpenCL,
}

/// <summary>How collectives move data between two devices of an ILGPU mesh.</summary>
public enum IlgpuTransfer
{
    /// <summary>A direct device-to-device copy (CUDA peer access; plain memory copies between CPU accelerators).</summary>
    PeerToPeer,

    /// <summary>Copied to pinned host memory by the sender, then uploaded by the receiver.</summary>
    StagedThroughHost,
}
