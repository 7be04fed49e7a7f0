#!/usr/bin/python3
"""PyTorch float64 training reference for ShardGen's training tests: the models of hf_reference.py under autograd.

  train DIR --data FILE.npy --batch B --seq L --steps S --lr X [--optimizer sgd|adamw] [--clip C]
        [--data-parallel D] --out OUTDIR [--save-dtype F32|F64] [--weights-npy]
      S steps from the checkpoint DIR; writes OUTDIR/losses.npy (float64 [S]), OUTDIR/losses.csv (`step,loss`,
      17 significant digits), OUTDIR/checkpoint/ (config.json + model.safetensors, the names it was loaded with;
      a tied head is the embedding, not written twice) and with --weights-npy OUTDIR/weights/NAME.npy (float64).
  grads DIR --data FILE.npy --batch B --seq L [--step s] --out OUTDIR
      loss and gradients of one batch: OUTDIR/loss.npy (float64 scalar), OUTDIR/grads/NAME.npy (float64), one per
      trained parameter (a parameter the loss does not reach gets zeros).
  windows --n N --batch B --seq L --steps S [--data-parallel D]
      prints `step replica window start` for every window of steps 0..S-1 (replica r takes windows b with b mod D = r).

Batches, as issue 14 defines them: step s takes B windows; window b starts at ((s·B + b)·L) mod (N − L) in the token
array of length N; inputs are the L tokens from there, targets the L tokens one further; each window is its own
sequence (causal attention within it, positions from 0; each layer's sliding window, if any, as hf_reference.py's
layer_windows reads it from config.json); the loss is the mean cross-entropy over the B·L targets.
With D data-parallel replicas the math is the same at the same global batch (replica r's gradient over its B/D
windows, averaged over replicas, is this gradient), so this script trains one replica of the whole batch and only
checks that D divides B.

Optimizers are torch.optim's own on every parameter (embeddings, norms, biases included; a tied embedding and head are
one parameter): SGD (w ← w − lr·g) and AdamW with its defaults β 0.9/0.999, ε 1e-8, weight decay 0.01. --clip C is
torch.nn.utils.clip_grad_norm_ (global L2 norm, each parameter counted once).
"""
import argparse
import math
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_reference as ref  # noqa: E402  (the model math, the safetensors reader and writer)


def window_starts(n, batch, seq, step):
    """Start of each of the step's windows in a token array of length n."""
    return [((step * batch + b) * seq) % (n - seq) for b in range(batch)]


def batch_tokens(data, batch, seq, step):
    """(inputs, targets): flat lists of batch·seq ids, window after window."""
    inputs, targets = [], []
    for start in window_starts(len(data), batch, seq, step):
        inputs.extend(int(t) for t in data[start:start + seq])
        targets.extend(int(t) for t in data[start + 1:start + seq + 1])
    return inputs, targets


def load_data(path, vocab, seq):
    data = np.load(path)
    if data.ndim != 1 or data.dtype != np.int32:
        sys.exit(f"{path}: expected a 1-D int32 array of token ids, got {data.dtype} {data.shape}")
    if len(data) < seq + 1:
        sys.exit(f"{path}: {len(data)} tokens, fewer than --seq + 1 = {seq + 1}")
    bad = np.nonzero((data < 0) | (data >= vocab))[0]
    if len(bad):
        sys.exit(f"{path}: token id {data[bad[0]]} at position {bad[0]} is outside the vocabulary [0, {vocab})")
    return data


def is_buffer(name, tensor):
    """GPT-2's causal mask and masked_bias are buffers, not weights."""
    return tensor.dtype == torch.bool or tensor.dim() == 0 or name.endswith("attn.masked_bias")


def tied(config):
    return config.get("tie_word_embeddings", config["model_type"] == "gpt2")


def parameters(config, w):
    """name -> leaf float64 tensor requiring grad, in checkpoint order; a tied checkpoint's stored lm_head is dropped."""
    out = {}
    for name, t in w.items():
        if is_buffer(name, t) or (name == "lm_head.weight" and tied(config)):
            continue
        out[name] = t.clone().requires_grad_(True)
    return out


def loss_of(config, w, params, data, batch, seq, step):
    inputs, targets = batch_tokens(data, batch, seq, step)
    weights = dict(w)
    weights.update(params)
    logits = ref.forward(config, weights, inputs, [seq] * batch)
    return torch.nn.functional.cross_entropy(logits, torch.tensor(targets, dtype=torch.long))   # mean over B·L


def check_batch(args):
    if args.batch < 1 or args.seq < 1:
        sys.exit("--batch and --seq must be positive")
    if args.batch % args.data_parallel != 0:
        sys.exit(f"--batch {args.batch} is not divisible by --data-parallel {args.data_parallel}")


def train(args):
    check_batch(args)
    if not (args.lr > 0 and math.isfinite(args.lr)):
        sys.exit(f"--lr {args.lr} must be positive and finite")
    config, w = ref.load_checkpoint(args.dir)
    data = load_data(args.data, config["vocab_size"], args.seq)
    params = parameters(config, w)
    if args.optimizer == "sgd":
        opt = torch.optim.SGD(params.values(), lr=args.lr)
    else:
        opt = torch.optim.AdamW(params.values(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    losses = []
    for s in range(args.steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_of(config, w, params, data, args.batch, args.seq, s)
        value = loss.item()
        if not math.isfinite(value):
            sys.exit(f"loss became {value} at step {s}")
        losses.append(value)
        print(f"step {s} loss {value:.17g}", flush=True)
        loss.backward()
        if args.clip is not None:
            torch.nn.utils.clip_grad_norm_(list(params.values()), args.clip)
        opt.step()

    os.makedirs(args.out, exist_ok=True)
    np.save(os.path.join(args.out, "losses.npy"), np.array(losses, dtype=np.float64))
    csv = os.path.join(args.out, "losses.csv")
    with open(csv + ".tmp", "w") as f:
        f.write("step,loss\n")
        for s, v in enumerate(losses):
            f.write(f"{s},{v:.17g}\n")
    os.replace(csv + ".tmp", csv)

    saved = os.path.join(args.out, "checkpoint")
    os.makedirs(saved, exist_ok=True)
    shutil.copyfile(os.path.join(args.dir, "config.json"), os.path.join(saved, "config.json"))
    tensors = [(name, params[name].detach() if name in params else t) for name, t in w.items()
               if not (name == "lm_head.weight" and tied(config))]
    ref.write_safetensors(os.path.join(saved, "model.safetensors"), tensors, args.save_dtype)
    if args.weights_npy:
        folder = os.path.join(args.out, "weights")
        os.makedirs(folder, exist_ok=True)
        for name, p in params.items():
            np.save(os.path.join(folder, name + ".npy"), p.detach().numpy())


def grads(args):
    check_batch(args)
    config, w = ref.load_checkpoint(args.dir)
    data = load_data(args.data, config["vocab_size"], args.seq)
    params = parameters(config, w)
    loss = loss_of(config, w, params, data, args.batch, args.seq, args.step)
    loss.backward()
    folder = os.path.join(args.out, "grads")
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(args.out, "loss.npy"), np.array(loss.item(), dtype=np.float64))
    for name, p in params.items():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        np.save(os.path.join(folder, name + ".npy"), g.numpy())
    print(f"loss {loss.item():.17g}")


def windows(args):
    check_batch(args)
    if args.n < args.seq + 1:
        sys.exit(f"--n {args.n} is fewer than --seq + 1 = {args.seq + 1}")
    for s in range(args.steps):
        for b, start in enumerate(window_starts(args.n, args.batch, args.seq, s)):
            print(s, b % args.data_parallel, b, start)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def batching(p, steps):
        p.add_argument("--batch", type=int, required=True)
        p.add_argument("--seq", type=int, required=True)
        p.add_argument("--data-parallel", type=int, default=1)
        if steps:
            p.add_argument("--steps", type=int, required=True)

    t = sub.add_parser("train")
    t.add_argument("dir")
    t.add_argument("--data", required=True)
    batching(t, True)
    t.add_argument("--lr", type=float, required=True)
    t.add_argument("--optimizer", default="sgd", choices=["sgd", "adamw"])
    t.add_argument("--clip", type=float)
    t.add_argument("--out", required=True)
    t.add_argument("--save-dtype", default="F32", choices=["F32", "F64"])
    t.add_argument("--weights-npy", action="store_true")
    g = sub.add_parser("grads")
    g.add_argument("dir")
    g.add_argument("--data", required=True)
    batching(g, False)
    g.add_argument("--step", type=int, default=0)
    g.add_argument("--out", required=True)
    wd = sub.add_parser("windows")
    wd.add_argument("--n", type=int, required=True)
    batching(wd, True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    {"train": train, "grads": grads, "windows": windows}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
