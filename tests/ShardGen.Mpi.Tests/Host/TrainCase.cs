using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using ShardGen;
using ShardGen.Mpi;
using ShardGen.Tests.LanguageModel;
using ShardGen.Training;

/// <summary>
/// Case "train=FILE": each line of FILE is one run, as key=value words: name, family (llama|gpt2), optimizer (sgd|adamw),
/// lr, clip (0: none), replicas (D; P = ranks / D), checkpoint, data (.npy), batch, seq, steps, save (a folder, or -),
/// reshard (1: check the saved checkpoint's logits), message (optional: floats per point-to-point piece of Save). The job's ranks load the checkpoint as D replicas of P devices
/// (MpiDeviceMesh.CreateReplica) and train with the Trainer, clipping on MPI (GradientNorm's all-reduce); each rank
/// prints its losses and norms, rank 0 also the same run's norm in process; then every rank saves over MPI. With
/// reshard, every rank reloads the saved checkpoint on the same MPI mesh (logits bitwise the trained model's) and
/// rank 0 loads it in process on P and on 2 devices (logits within 1e-6) and saves it again at 2 (the same bytes).
/// Case "save-fail=ROOT,D": Save into ROOT/file (a file), into ROOT/blocked (whose model.safetensors is a folder:
/// rank 0's write fails after the gather), then into ROOT/good: every rank must throw alike, then succeed.
/// </summary>
internal static class TrainCase
{
    public static void Run(string file)
    {
        foreach (var line in File.ReadAllLines(file).Where(l => l.Trim().Length > 0))
            One(line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(w => w.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv[1]));
    }

    private static void One(Dictionary<string, string> c)
    {
        string name = c["name"], family = c["family"], optimizer = c["optimizer"], checkpoint = c["checkpoint"], save = c["save"];
        double lr = Number(c["lr"]), clip = Number(c["clip"]);
        int replicas = int.Parse(c["replicas"]), batch = int.Parse(c["batch"]), seq = int.Parse(c["seq"]), steps = int.Parse(c["steps"]);
        var tokens = TokenData.Load(c["data"]);
        // Save's point-to-point pieces: small ones send this small model in many.
        MpiCommunicator.MessageFloats = c.TryGetValue("message", out var message) ? int.Parse(message) : 1 << 28;

        using var mesh = MpiDeviceMesh.CreateReplica(replicas);
        int p = mesh.Size, world = mesh.ReplicaIndex * p + mesh.LocalRank;
        using var model = Load(mesh, family, checkpoint);
        var trainer = Train([model], optimizer, lr, clip, tokens, batch, seq, steps, replicas);
        // After the step the gradient is the clipped one: its norm, asked directly, is the clip (or the norm).
        double after = model.Training.GradientNorm();
        string inProcess = "";
        if (world == 0)
        {
            using var local = DataParallelMesh.CreateCpu(replicas, p);
            var models = local.Replicas.Select(m => Load(m, family, checkpoint)).ToArray();
            var expected = Train(models, optimizer, lr, clip, tokens, batch, seq, steps, replicas);
            inProcess = $" inProcessNorm={Text(expected.LastGradientNorm ?? double.NaN)} inProcessLosses={Row(expected.Losses)}";
            foreach (var m in models) m.Dispose();
        }
        Output.Line($"TRAIN {name} rank={world} replica={mesh.ReplicaIndex} device={mesh.LocalRank} p={p} losses={Row(trainer.Losses)} " +
                    $"norm={Text(trainer.LastGradientNorm ?? double.NaN)} after={Text(after)}{inProcess}");
        if (save == "-") return;

        model.Training.Save(save);
        Output.Line($"SAVED {name} rank={world} files={string.Join(",", Directory.GetFiles(save).Select(Path.GetFileName).Order())}");
        if (c.GetValueOrDefault("reshard") != "1") return;

        int vocab = model.Vocab;
        int[] ids = Enumerable.Range(0, 11).Select(i => (i * 37 + 5) % vocab).ToArray();
        var trained = model.Forward(ids, null);
        using var reloaded = Load(mesh, family, save);
        bool bitwise = trained.Cast<float>().SequenceEqual(reloaded.Forward(ids, null).Cast<float>());
        string line = $"RESHARD {name} rank={world} p={p} reloadBitwise={bitwise}";
        if (world == 0)
        {
            foreach (int devices in new[] { p, 2 })
            {
                using var cpu = DeviceMesh.CreateCpu(devices);
                using var loaded = Load(cpu, family, save);
                var logits = loaded.Forward(ids, null);
                double max = trained.Cast<float>().Max(v => Math.Abs((double)v));
                double error = trained.Cast<float>().Zip(logits.Cast<float>(), (a, b) => Math.Abs((double)a - b)).Max();
                line += $" inProcess{devices}={Text(error / max)}";
                if (devices == 2)
                {
                    string again = save + "-p2";
                    loaded.Training.Save(again);
                    line += $" resaveIdentical={File.ReadAllBytes(Path.Combine(save, "model.safetensors")).SequenceEqual(File.ReadAllBytes(Path.Combine(again, "model.safetensors")))}";
                }
            }
        }
        Output.Line(line);
    }

    private static Trainer Train(IReadOnlyList<ITrainableLanguageModel> models, string optimizer, double lr, double clip, TokenData tokens,
        int batch, int seq, int steps, int replicas)
    {
        using Optimizer o = optimizer == "sgd" ? new Sgd(lr) : new AdamW(lr);
        var trainer = new Trainer(models, o, tokens, new TrainingBatches(tokens.Count, batch, seq, replicas), clip > 0 ? clip : null);
        for (int s = 0; s < steps; s++) trainer.Step();
        return trainer;
    }

    public static void SaveFailures(string argument)
    {
        var parts = argument.Split(',');
        string root = parts[0];
        using var mesh = MpiDeviceMesh.CreateReplica(int.Parse(parts[1]));
        int world = mesh.ReplicaIndex * mesh.Size + mesh.LocalRank;
        using var model = TinyLlama.Create(mesh, LanguageModelReference.RandomWeights(TinyLlama.PlanFor(1), 5));
        foreach (string folder in new[] { "file", "blocked", "good" })
        {
            string outcome;
            try
            {
                model.Training.Save(Path.Combine(root, folder));
                outcome = "ok=True";
            }
            catch (IOException e)
            {
                outcome = $"ok=False message={e.Message.ReplaceLineEndings(" ")}";
            }
            Output.Line($"SAVEFAIL {folder} rank={world} {outcome}");
        }
    }

    /// <summary>
    /// Case "float-norm": the Megatron MLP (its row-parallel bias on every rank) on the world mesh, one Backward, then
    /// GradientNorm on MPI against the norm in double of the gradients (each weight and bias once) of the same Backward
    /// on an in-process mesh of P devices (gathered with Gradients(layer)), and ClipGradients' result.
    /// </summary>
    public static void FloatNorm(MpiDeviceMesh mesh)
    {
        var weights = ShardGen.Tests.Models.Mlp.Weights.Random(31);
        var random = new Random(32);
        var x = ShardGen.Tests.Reference.ReferenceMath.RandomMatrix(random, 5, 64);
        var dy = ShardGen.Tests.Reference.ReferenceMath.RandomMatrix(random, 5, 64);
        double host = 0;
        using (var cpu = DeviceMesh.CreateCpu(mesh.Size))
        using (var local = ShardGen.Tests.Models.Mlp.Create(cpu, weights))
        {
            local.Backward(x, dy);
            for (int layer = 0; layer < 2; layer++)
            {
                var g = local.Gradients(layer);
                foreach (float v in g.Weight) host += (double)v * v;
                foreach (float v in g.Bias ?? []) host += (double)v * v;
            }
        }
        using var model = ShardGen.Tests.Models.Mlp.Create(mesh, weights);
        model.Backward(x, dy);
        double norm = model.Training.GradientNorm(), clipped = model.Training.ClipGradients(0.1), after = model.Training.GradientNorm();
        Output.Line($"FLOATNORM rank={mesh.LocalRank} norm={Text(norm)} host={Text(Math.Sqrt(host))} clip={Text(clipped)} after={Text(after)}");
    }

    private static ITrainableLanguageModel Load(DeviceMesh mesh, string family, string checkpoint) =>
        family == "gpt2" ? Gpt2.Load(mesh, checkpoint) : Llama.Load(mesh, checkpoint);

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    private static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Row(IEnumerable<double> values) => string.Join(",", values.Select(Text));
}
