#!/usr/bin/python3
"""PyTorch eager baseline for the `train` suite: training steps of a LLaMA-family checkpoint read from the same
safetensors files, float32, one thread, the model math of tests/reference/hf_reference.py (RMSNorm, separate q/k/v/o
and gate/up/down linears on the stored [out, in] weights, rotate_half RoPE, repeat_kv, causal softmax attention within
each window, SiLU-gated MLP) written batched the way transformers' eager LLaMA runs it ([B, H, L, d] matmuls with an
additive causal mask), cross-entropy as the mean over the B·L targets, loss.backward(), torch.optim.AdamW (β 0.9/0.999,
ε 1e-8, weight decay 0.01 on every parameter).

  /usr/bin/python3 benchmarks/torch_train.py CHECKPOINT_DIR --tokens FILE.npy --batch 4 --seq 128 --steps 6 [--warmup 2]
        [--lr 1e-3] [--threads 1]

FILE.npy: int32 [steps·B·(L+1)]; step s takes the rows s·B … s·B+B−1 of it viewed as [steps·B, L+1] (inputs the first L,
targets the last L). Prints one JSON line: torch version, threads, ms_per_step (median over the timed steps after the
warm-up ones), every step's ms and loss.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_decode import load  # noqa: E402  (the same safetensors reader)


class Llama:
    def __init__(self, c, w):
        self.c = c
        self.h, self.H = c["hidden_size"], c["num_attention_heads"]
        self.KV = c.get("num_key_value_heads") or self.H
        self.d = self.h // self.H
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.layers = c["num_hidden_layers"]
        self.bias = c["model_type"] == "qwen2"
        self.tied = c.get("tie_word_embeddings", False)
        theta = c.get("rope_theta", 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.d, 2, dtype=torch.int64).float() / self.d))
        # Every stored tensor is a trained parameter (a tied checkpoint's lm_head is the embedding: dropped).
        self.params = {n: t.clone().requires_grad_(True) for n, t in w.items() if not (n == "lm_head.weight" and self.tied)}

    def rms_norm(self, x, weight):
        return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def linear(self, x, name):
        return F.linear(x, self.params[name + ".weight"], self.params.get(name + ".bias") if self.bias else None)

    def loss(self, inputs, targets):
        """inputs, targets [B, L]: mean cross-entropy over the B·L targets."""
        B, L = inputs.shape
        H, KV, d, w = self.H, self.KV, self.d, self.params
        x = w["model.embed_tokens.weight"][inputs]                                        # [B, L, h]
        freqs = torch.arange(L).float()[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()                                                  # [L, d]
        mask = torch.full((L, L), float("-inf")).triu(1)
        for i in range(self.layers):
            p = f"model.layers.{i}."
            a = self.rms_norm(x, w[p + "input_layernorm.weight"])
            q = self.linear(a, p + "self_attn.q_proj").view(B, L, H, d).transpose(1, 2)  # [B, H, L, d]
            k = self.linear(a, p + "self_attn.k_proj").view(B, L, KV, d).transpose(1, 2)
            v = self.linear(a, p + "self_attn.v_proj").view(B, L, KV, d).transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            k = k.repeat_interleave(H // KV, dim=1)                                     # repeat_kv
            v = v.repeat_interleave(H // KV, dim=1)
            scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(d) + mask
            out = torch.matmul(torch.softmax(scores, dim=-1, dtype=torch.float32), v)   # [B, H, L, d]
            x = x + self.linear(out.transpose(1, 2).reshape(B, L, self.h), p + "self_attn.o_proj")
            m = self.rms_norm(x, w[p + "post_attention_layernorm.weight"])
            x = x + self.linear(F.silu(self.linear(m, p + "mlp.gate_proj")) * self.linear(m, p + "mlp.up_proj"), p + "mlp.down_proj")
        x = self.rms_norm(x, w["model.norm.weight"])
        head = w["model.embed_tokens.weight"] if self.tied else w["lm_head.weight"]
        logits = F.linear(x, head)
        return F.cross_entropy(logits.view(B * L, -1), targets.reshape(B * L))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir")
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config, weights = load(args.dir)
    if config.get("model_type") not in ("llama", "mistral", "qwen2"):
        sys.exit(f"{args.dir}: model_type {config.get('model_type')} is not a LLaMA-family model")
    tokens = np.load(args.tokens)
    rows = args.steps * args.batch
    if tokens.dtype != np.int32 or tokens.size != rows * (args.seq + 1):
        sys.exit(f"{args.tokens}: expected int32 [{rows}·{args.seq + 1}], got {tokens.dtype} {tokens.shape}")
    tokens = torch.from_numpy(tokens.astype(np.int64).reshape(rows, args.seq + 1))
    model = Llama(config, weights)
    opt = torch.optim.AdamW(model.params.values(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    ms, losses = [], []
    for s in range(args.steps):
        batch = tokens[s * args.batch:(s + 1) * args.batch]
        clock = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model.loss(batch[:, :-1], batch[:, 1:])
        loss.backward()
        opt.step()
        ms.append((time.perf_counter() - clock) * 1e3)
        losses.append(loss.item())
    timed = ms[args.warmup:] or ms
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "ms_per_step": statistics.median(timed),
                      "ms": ms, "losses": losses}))


if __name__ == "__main__":
    main()
