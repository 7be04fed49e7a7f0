using System;

namespace ShardGen.Devices;

// Enqueue-time checks of the training kernels: same rules and words on every backend, thrown in the caller's stack
// before anything is queued.
public abstract partial class Device
{
    /// <summary>The rules of <see cref="NormalizeBackward"/>'s arguments, for every backend.</summary>
    protected internal void CheckNormalizeBackward(MatrixView x, MatrixView dy, NormKind kind, MatrixView gamma, float epsilon,
        MatrixView dx, MatrixView dGamma, MatrixView? dBeta)
    {
        const string op = "NormalizeBackward";
        CheckView(x, nameof(x));
        CheckView(dy, nameof(dy));
        CheckView(gamma, nameof(gamma));
        CheckView(dx, nameof(dx));
        CheckView(dGamma, nameof(dGamma));
        if (kind != NormKind.LayerNorm && kind != NormKind.RmsNorm)
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown normalization.");
        if (!(epsilon >= 0f) || float.IsInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"{op} on {Name}: epsilon must be finite and ≥ 0.");
        CheckShape(dy, x, op, nameof(dy));
        CheckShape(dx, x, op, nameof(dx));
        CheckRowVector(gamma, x.Cols, op, nameof(gamma));
        CheckRowVector(dGamma, x.Cols, op, nameof(dGamma));
        if (dBeta is { } db)
        {
            CheckView(db, nameof(dBeta));
            CheckRowVector(db, x.Cols, op, nameof(dBeta));
            if (kind == NormKind.RmsNorm)
                throw new ArgumentException($"{op} on {Name}: RmsNorm has no β; pass dBeta = null.", nameof(dBeta));
        }
        // dx is written row by row after the row's sums: it may be dy itself, but nothing else it reads or accumulates.
        if (dx != dy && Overlaps(dx, dy))
            throw new ArgumentException($"{op} on {Name}: dx {dx} overlaps dy {dy} without being the same view.", nameof(dx));
        if (Overlaps(dx, x) || Overlaps(dx, gamma) || Overlaps(dx, dGamma) || (dBeta is { } b1 && Overlaps(dx, b1)))
            throw new ArgumentException($"{op} on {Name}: dx must not overlap x, gamma, dGamma or dBeta.", nameof(dx));
        if (Overlaps(dGamma, x) || Overlaps(dGamma, dy) || Overlaps(dGamma, gamma) || (dBeta is { } b2 && (Overlaps(dGamma, b2) || Overlaps(b2, x) || Overlaps(b2, dy))))
            throw new ArgumentException($"{op} on {Name}: dGamma and dBeta must not overlap each other, x or dy.", nameof(dGamma));
    }

    /// <summary>The rules of <see cref="BiasGradient"/>'s arguments, for every backend.</summary>
    protected internal void CheckBiasGradient(MatrixView dy, MatrixView dBias)
    {
        CheckView(dy, nameof(dy));
        CheckView(dBias, nameof(dBias));
        CheckRowVector(dBias, dy.Cols, "BiasGradient", nameof(dBias));
        if (Overlaps(dy, dBias))
            throw new ArgumentException($"BiasGradient on {Name}: dBias must not overlap dy.", nameof(dBias));
    }

    /// <summary>The rules of <see cref="ActivationBackward"/>'s arguments, for every backend.</summary>
    protected internal void CheckActivationBackward(MatrixView z, MatrixView dy, MatrixView dz, Activation activation)
    {
        const string op = "ActivationBackward";
        CheckView(z, nameof(z));
        CheckView(dy, nameof(dy));
        CheckView(dz, nameof(dz));
        CheckActivation(activation);
        CheckShape(dy, z, op, nameof(dy));
        CheckShape(dz, z, op, nameof(dz));
        // Elementwise: dz may be dy or z exactly, but not shifted over them.
        if ((dz != dy && Overlaps(dz, dy)) || (dz != z && Overlaps(dz, z)))
            throw new ArgumentException($"{op} on {Name}: dz overlaps dy or z without being the same view.", nameof(dz));
    }

    /// <summary>The rules of <see cref="GatedActivationBackward"/>'s arguments, for every backend.</summary>
    protected internal void CheckGatedActivationBackward(MatrixView gateUp, MatrixView dOutput, MatrixView dGateUp, Activation activation)
    {
        const string op = "GatedActivationBackward";
        CheckView(gateUp, nameof(gateUp));
        CheckView(dOutput, nameof(dOutput));
        CheckView(dGateUp, nameof(dGateUp));
        CheckActivation(activation);
        if (gateUp.Cols % 2 != 0)
            throw new ArgumentException($"{op} on {Name}: gateUp is {gateUp.Rows}×{gateUp.Cols}; it must be [T, 2n] = [gate | up], an even width.", nameof(gateUp));
        if (dOutput.Rows != gateUp.Rows || dOutput.Cols != gateUp.Cols / 2)
            throw new ArgumentException($"{op} on {Name}: dOutput must be {gateUp.Rows}×{gateUp.Cols / 2} (half of gateUp {gateUp.Rows}×{gateUp.Cols}) but is {dOutput.Rows}×{dOutput.Cols}.", nameof(dOutput));
        CheckShape(dGateUp, gateUp, op, nameof(dGateUp));
        if (Overlaps(dGateUp, gateUp) || Overlaps(dGateUp, dOutput))
            throw new ArgumentException($"{op} on {Name}: dGateUp must not overlap gateUp or dOutput.", nameof(dGateUp));
    }

    /// <summary>The rules of <see cref="AttentionBackward"/>'s arguments, for every backend.</summary>
    protected internal void CheckAttentionBackward(MatrixView qkv, MatrixView dOutput, MatrixView dQkv, AttentionShape shape)
    {
        CheckAttention(qkv, dOutput, shape);
        CheckView(dQkv, nameof(dQkv));
        if (dQkv.Rows != shape.Tokens || dQkv.Cols != shape.FusedWidth)
            throw new ArgumentException($"{What(shape)}: dQkv must be {shape.Tokens}×{shape.FusedWidth} like qkv but is {dQkv.Rows}×{dQkv.Cols}.", nameof(dQkv));
        if (Overlaps(dQkv, qkv) || Overlaps(dQkv, dOutput))
            throw new ArgumentException($"{What(shape)}: dQkv must not overlap qkv or dOutput.", nameof(dQkv));
    }

    /// <summary>The rules of <see cref="ScatterAddRows"/>'s arguments, for every backend.</summary>
    protected internal void CheckScatterAddRows(int[] ids, int firstRow, MatrixView dOutput, MatrixView dTable)
    {
        const string op = "ScatterAddRows";
        ArgumentNullException.ThrowIfNull(ids);
        CheckView(dOutput, nameof(dOutput));
        CheckView(dTable, nameof(dTable));
        if (firstRow < 0)
            throw new ArgumentOutOfRangeException(nameof(firstRow), firstRow, $"{op} on {Name}: the table's first row must be ≥ 0.");
        if (dOutput.Rows != ids.Length || dOutput.Cols != dTable.Cols)
            throw new ArgumentException($"{op} on {Name}: dOutput must be {ids.Length}×{dTable.Cols} ({ids.Length} ids, rows of {dTable.Cols}) but is {dOutput.Rows}×{dOutput.Cols}.", nameof(dOutput));
        CheckIds(ids, op, nameof(ids));
        if (Overlaps(dOutput, dTable))
            throw new ArgumentException($"{op} on {Name}: dTable must not overlap dOutput.", nameof(dTable));
    }

    /// <summary>The rules of <see cref="LogitStatistics"/>'s arguments, for every backend.</summary>
    protected internal void CheckLogitStatistics(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax, MatrixView targetLogit)
    {
        const string op = "LogitStatistics";
        CheckLogitShard(logits, targets, firstColumn, op);
        CheckView(rowMax, nameof(rowMax));
        CheckView(targetLogit, nameof(targetLogit));
        CheckColumnVector(rowMax, logits.Rows, op, nameof(rowMax));
        CheckColumnVector(targetLogit, logits.Rows, op, nameof(targetLogit));
        if (Overlaps(rowMax, logits) || Overlaps(targetLogit, logits) || Overlaps(rowMax, targetLogit))
            throw new ArgumentException($"{op} on {Name}: rowMax, targetLogit and logits must not overlap.", nameof(rowMax));
    }

    /// <summary>The rules of <see cref="LogitSumExp"/>'s arguments, for every backend.</summary>
    protected internal void CheckLogitSumExp(MatrixView logits, MatrixView rowMax, MatrixView sumExp)
    {
        const string op = "LogitSumExp";
        CheckView(logits, nameof(logits));
        CheckView(rowMax, nameof(rowMax));
        CheckView(sumExp, nameof(sumExp));
        CheckMaxima(rowMax, logits, op);
        CheckColumnVector(sumExp, logits.Rows, op, nameof(sumExp));
        if (Overlaps(sumExp, logits) || Overlaps(sumExp, rowMax))
            throw new ArgumentException($"{op} on {Name}: sumExp must not overlap logits or rowMax.", nameof(sumExp));
    }

    /// <summary>The rules of <see cref="CrossEntropyGradient"/>'s arguments, for every backend.</summary>
    protected internal void CheckCrossEntropyGradient(MatrixView logits, int[] targets, int firstColumn, MatrixView rowMax,
        MatrixView sumExp, float scale, MatrixView dLogits)
    {
        const string op = "CrossEntropyGradient";
        CheckLogitShard(logits, targets, firstColumn, op);
        CheckView(rowMax, nameof(rowMax));
        CheckView(sumExp, nameof(sumExp));
        CheckView(dLogits, nameof(dLogits));
        CheckMaxima(rowMax, logits, op);
        CheckColumnVector(sumExp, logits.Rows, op, nameof(sumExp));
        CheckShape(dLogits, logits, op, nameof(dLogits));
        if (!float.IsFinite(scale))
            throw new ArgumentOutOfRangeException(nameof(scale), scale, $"{op} on {Name}: scale must be finite (1/N for a mean over N targets).");
        if ((dLogits != logits && Overlaps(dLogits, logits)) || Overlaps(dLogits, rowMax) || Overlaps(dLogits, sumExp))
            throw new ArgumentException($"{op} on {Name}: dLogits may be logits itself but must not overlap it otherwise, nor rowMax or sumExp.", nameof(dLogits));
    }

    /// <summary>The rules of <see cref="SgdStep"/>'s arguments, for every backend.</summary>
    protected internal void CheckSgdStep(MatrixView w, MatrixView g, float learningRate)
    {
        CheckView(w, nameof(w));
        CheckView(g, nameof(g));
        CheckShape(g, w, "SgdStep", nameof(g));
        CheckLearningRate(learningRate, "SgdStep");
        if (Overlaps(w, g))
            throw new ArgumentException($"SgdStep on {Name}: the weight and its gradient must not overlap.", nameof(g));
    }

    /// <summary>The rules of <see cref="AdamWStep"/>'s arguments, for every backend.</summary>
    protected internal void CheckAdamWStep(MatrixView w, MatrixView g, MatrixView m, MatrixView v, float learningRate,
        float beta1, float beta2, float epsilon, float weightDecay, int step)
    {
        const string op = "AdamWStep";
        CheckView(w, nameof(w));
        CheckView(g, nameof(g));
        CheckView(m, nameof(m));
        CheckView(v, nameof(v));
        CheckShape(g, w, op, nameof(g));
        CheckShape(m, w, op, nameof(m));
        CheckShape(v, w, op, nameof(v));
        CheckLearningRate(learningRate, op);
        if (!(beta1 >= 0f && beta1 < 1f))
            throw new ArgumentOutOfRangeException(nameof(beta1), beta1, $"{op} on {Name}: β₁ must be in [0, 1).");
        if (!(beta2 >= 0f && beta2 < 1f))
            throw new ArgumentOutOfRangeException(nameof(beta2), beta2, $"{op} on {Name}: β₂ must be in [0, 1).");
        if (!(epsilon >= 0f) || float.IsInfinity(epsilon))
            throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, $"{op} on {Name}: ε must be finite and ≥ 0.");
        if (!(weightDecay >= 0f) || float.IsInfinity(weightDecay))
            throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, $"{op} on {Name}: the weight decay must be finite and ≥ 0.");
        if (step < 1)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"{op} on {Name}: the step count t starts at 1 (the bias corrections divide by 1 − βᵗ).");
        if (Overlaps(w, g) || Overlaps(w, m) || Overlaps(w, v) || Overlaps(g, m) || Overlaps(g, v) || Overlaps(m, v))
            throw new ArgumentException($"{op} on {Name}: w, g, m and v must not overlap.", nameof(m));
    }

    /// <summary>The rules of <see cref="SumOfSquares"/>'s arguments, for every backend.</summary>
    protected internal void CheckSumOfSquares(MatrixView g, MatrixView result)
    {
        CheckView(g, nameof(g));
        CheckView(result, nameof(result));
        if (result.Rows != 1 || result.Cols != 1)
            throw new ArgumentException($"SumOfSquares on {Name}: result must be 1×1 but is {result.Rows}×{result.Cols}.", nameof(result));
        if (Overlaps(g, result))
            throw new ArgumentException($"SumOfSquares on {Name}: result must not overlap g.", nameof(result));
    }

    /// <summary>The rules of <see cref="Scale"/>'s arguments, for every backend.</summary>
    protected internal void CheckScale(MatrixView g, float factor)
    {
        CheckView(g, nameof(g));
        if (!float.IsFinite(factor))
            throw new ArgumentOutOfRangeException(nameof(factor), factor, $"Scale on {Name}: the factor must be finite.");
    }

    /// <summary>The rules of <see cref="Zero"/>'s argument, for every backend.</summary>
    protected internal void CheckZero(MatrixView x) => CheckView(x, nameof(x));

    private void CheckShape(MatrixView view, MatrixView like, string op, string name)
    {
        if (view.Rows != like.Rows || view.Cols != like.Cols)
            throw new ArgumentException($"{op} on {Name}: {name} must be {like.Rows}×{like.Cols} but is {view.Rows}×{view.Cols}.", name);
    }

    private void CheckRowVector(MatrixView view, int cols, string op, string name)
    {
        if (view.Rows != 1 || view.Cols != cols)
            throw new ArgumentException($"{op} on {Name}: {name} must be 1×{cols} but is {view.Rows}×{view.Cols}.", name);
    }

    private void CheckColumnVector(MatrixView view, int rows, string op, string name)
    {
        if (view.Rows != rows || view.Cols != 1)
            throw new ArgumentException($"{op} on {Name}: {name} must be {rows}×1 (one value per row of the logits) but is {view.Rows}×{view.Cols}.", name);
    }

    private void CheckMaxima(MatrixView rowMax, MatrixView logits, string op)
    {
        if (rowMax.Rows != logits.Rows || rowMax.Cols < 1)
            throw new ArgumentException($"{op} on {Name}: rowMax must be {logits.Rows}×k (the global max, or k shards' maxima side by side) but is {rowMax.Rows}×{rowMax.Cols}.", nameof(rowMax));
    }

    private void CheckLogitShard(MatrixView logits, int[] targets, int firstColumn, string op)
    {
        ArgumentNullException.ThrowIfNull(targets);
        CheckView(logits, nameof(logits));
        if (firstColumn < 0)
            throw new ArgumentOutOfRangeException(nameof(firstColumn), firstColumn, $"{op} on {Name}: the shard's first vocab column must be ≥ 0.");
        if (targets.Length != logits.Rows)
            throw new ArgumentException($"{op} on {Name}: {targets.Length} targets for the {logits.Rows} rows of the logits; give one target per row.", nameof(targets));
        CheckIds(targets, op, nameof(targets));
    }

    private void CheckIds(int[] ids, string op, string name)
    {
        for (int t = 0; t < ids.Length; t++)
            if (ids[t] < 0)
                throw new ArgumentOutOfRangeException(name, ids[t], $"{op} on {Name}: {name}[{t}] is {ids[t]}; token ids are ≥ 0.");
    }

    private void CheckLearningRate(float learningRate, string op)
    {
        if (!(learningRate > 0f) || float.IsInfinity(learningRate))
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, $"{op} on {Name}: the learning rate must be finite and > 0.");
    }
}
