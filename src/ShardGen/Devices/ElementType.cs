namespace ShardGen.Devices;

/// <summary>What one element of a <see cref="DeviceBuffer"/> is.</summary>
public enum ElementType
{
    /// <summary>IEEE float32: every buffer a device allocates.</summary>
    Float32,

    /// <summary>
    /// bfloat16 (a float32's upper 16 bits): a BF16 checkpoint's weights kept as the file stores them
    /// (<c>Load(…, keepBFloat16: true)</c>). Read-only: only GEMMs (as B), row gathers and downloads read them, widened exactly.
    /// </summary>
    BFloat16,
}
