using System;
using System.Collections.Generic;
using System.Linq;
using ShardGen.Devices;
using ShardGen.Runtime;

namespace ShardGen.Training;

// Gradient bookkeeping between backward passes: zeroing, the global norm and clipping.
public sealed partial class ModelTraining
{
    private ParameterSlice[]? _counted;

    /// <summary>
    /// Sets every gradient slice to zero on its device (Device.Zero writes zeros, so a NaN from a diverged step does not
    /// survive, as it would a scale by 0), queued in order before the next pass's kernels. ForwardBackward accumulates,
    /// so a step starts here. Allocates nothing: it runs every step.
    /// </summary>
    public void ZeroGradients()
    {
        var gradients = Gradients;
        for (int i = 0; i < gradients.Count; i++)
        {
            var value = gradients[i].Value;
            value.Device.Zero(value);
        }
    }

    /// <summary>
    /// The global L2 norm of the gradient, as torch.nn.utils.clip_grad_norm_ computes it over the model's parameters:
    /// each logical region counted once, however many devices hold a replica of it (a norm scale, a bias added once).
    /// Each slice's Σ g² is formed on its device; each device's sums are added in double, then the devices' totals in
    /// rank order. On MPI each process adds its own device's and the totals are summed over the mesh's processes
    /// (a collective: every process calls it); data-parallel replicas hold the summed gradient already, so each
    /// replica's mesh gives the same norm.
    /// </summary>
    public double GradientNorm()
    {
        var processes = _core.Mesh as IProcessMesh;
        if (processes is null && !AllLocal(_core.Mesh.Devices))
            throw new NotSupportedException($"GradientNorm adds the slices of every device, but {_core.Plan.ModelName}'s mesh has devices of other processes and no way to reach them: use an MpiDeviceMesh.");
        var counted = _counted ??= processes is null ? Distinct(Gradients) : CountedAcrossProcesses(processes);
        var sums = NormSums(counted);
        var devices = _core.Mesh.Devices;
        // SumOfSquares adds into its result: the kept sums start from zero on every call.
        for (int rank = 0; rank < devices.Count; rank++)
            if (sums.Host[rank].Length > 0) devices[rank].Zero(sums.Device[rank]);
        var next = sums.Next;
        Array.Clear(next);
        foreach (var g in counted) g.Value.Device.SumOfSquares(g.Value, sums.Device[g.Rank].RowsOf(next[g.Rank]++, 1));
        double total = 0;
        for (int rank = 0; rank < devices.Count; rank++)
        {
            var host = sums.Host[rank];
            if (host.Length == 0) continue;
            devices[rank].Download(sums.Device[rank], host, 1);
            double device = 0;
            foreach (float s in host) device += s;
            total += device;
        }
        return Math.Sqrt(processes is null ? total : processes.SumOverMesh(total));
    }

    /// <summary>
    /// torch.nn.utils.clip_grad_norm_: when the global norm exceeds <paramref name="maxNorm"/>, every gradient slice
    /// (replicas included) is scaled by maxNorm / (norm + 1e-6). Returns the norm before clipping.
    /// </summary>
    public double ClipGradients(double maxNorm)
    {
        double norm = GradientNorm();
        ScaleGradients(norm, maxNorm);
        return norm;
    }

    /// <summary>Scales by min(1, maxNorm / (norm + 1e-6)) given the norm (the same norm for every data-parallel replica).</summary>
    internal void ScaleGradients(double norm, double maxNorm)
    {
        if (!(maxNorm > 0) || !double.IsFinite(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The clipping norm must be positive and finite.");
        double factor = maxNorm / (norm + 1e-6);
        if (!(factor < 1)) return;   // also a NaN norm: the loss check reports that step
        var gradients = Gradients;
        for (int i = 0; i < gradients.Count; i++) gradients[i].Value.Device.Scale(gradients[i].Value, (float)factor);
    }

    // Loops, not LINQ or foreach over an interface: these run every step, and a steady-state step allocates nothing.
    private static bool AllLocal(IReadOnlyList<Device> devices)
    {
        for (int rank = 0; rank < devices.Count; rank++)
            if (!devices[rank].IsLocal) return false;
        return true;
    }

    // The first slice of each region: replicas of a region on other devices hold the same gradient.
    private static ParameterSlice[] Distinct(IReadOnlyList<ParameterSlice> slices)
    {
        var byKey = new Dictionary<ShardGen.WeightKey, List<ParameterSlice>>();
        var result = new List<ParameterSlice>();
        foreach (var s in slices)
        {
            if (!byKey.TryGetValue(s.Key, out var seen)) byKey[s.Key] = seen = new List<ParameterSlice>();
            if (seen.Any(s.SameRegion)) continue;
            seen.Add(s);
            result.Add(s);
        }
        return result.ToArray();
    }
}
