using ShardGen.Kernels;

namespace ShardGen.Tests.Backend;

/// <summary>
/// The decode GEMM's AVX2 body, forced on this AVX-512 machine (<see cref="SkinnyGemm.ForceVector256"/>): every case of
/// <see cref="SkinnyGemmTests"/> (inherited) against the double reference. Other tests running meanwhile merely take the
/// AVX2 body too.
/// </summary>
[Collection(nameof(SkinnyGemmVector256Tests))]
public sealed class SkinnyGemmVector256Tests : SkinnyGemmTests
{
    public SkinnyGemmVector256Tests() => SkinnyGemm.ForceVector256 = true;

    protected override string Body => "AVX2 ";

    public override void Dispose()
    {
        SkinnyGemm.ForceVector256 = false;
        base.Dispose();
    }
}
