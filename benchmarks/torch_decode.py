#!/usr/bin/python3
"""PyTorch eager baseline for the `decode` suite: a LLaMA-family checkpoint read from the same safetensors files, run
the way transformers' modeling_llama.py runs it in eager mode (float32, separate q/k/v/o and gate/up/down linears on
the stored [out, in] weights, rotate_half RoPE, a KV cache grown by torch.cat, repeat_kv, softmax attention), on one
thread, greedy.

  /usr/bin/python3 benchmarks/torch_decode.py CHECKPOINT_DIR --ids 1,2,3 --new 32 [--threads 1]

Prints one JSON line: load_s, prefill_ms, decode_ms_per_token (mean over the decode steps), new ids.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path, out):
    """Adds name -> float32 tensor for every tensor of one file (F32 as is, BF16/F16 widened)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        base = 8 + n
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            begin, end = entry["data_offsets"]
            f.seek(base + begin)
            raw = f.read(end - begin)
            shape = tuple(entry["shape"])
            if entry["dtype"] == "F32":
                array = np.frombuffer(raw, dtype="<f4").copy()
            elif entry["dtype"] == "BF16":
                array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            elif entry["dtype"] == "F16":
                array = np.frombuffer(raw, dtype="<f2").astype(np.float32)
            else:
                continue
            out[name] = torch.from_numpy(array.reshape(shape))


def load(directory):
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for name in files:
        read_safetensors(os.path.join(directory, name), weights)
    return config, weights


class Llama:
    def __init__(self, c, w):
        self.c, self.w = c, w
        self.h, self.H = c["hidden_size"], c["num_attention_heads"]
        self.KV = c.get("num_key_value_heads") or self.H
        self.d = self.h // self.H
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.layers = c["num_hidden_layers"]
        self.bias = c["model_type"] == "qwen2"
        theta = c.get("rope_theta", 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.d, 2, dtype=torch.int64).float() / self.d))
        self.head = w["model.embed_tokens.weight"] if c.get("tie_word_embeddings", False) else w["lm_head.weight"]
        self.cache = [None] * self.layers

    def rms_norm(self, x, weight):
        variance = x.pow(2).mean(-1, keepdim=True)
        return weight * (x * torch.rsqrt(variance + self.eps))

    @staticmethod
    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def linear(self, x, name):
        return F.linear(x, self.w[name + ".weight"], self.w.get(name + ".bias") if self.bias else None)

    def forward(self, ids, start):
        """ids [T] at positions start..start+T-1; appends to the cache; returns logits [T, vocab]."""
        T, H, KV, d = len(ids), self.H, self.KV, self.d
        x = self.w["model.embed_tokens.weight"][ids]
        freqs = torch.arange(start, start + T).float()[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None], emb.sin()[None]                                  # [1, T, d]
        mask = None
        if T > 1:
            mask = torch.full((T, start + T), float("-inf")).triu(start + 1)
        for i in range(self.layers):
            p = f"model.layers.{i}."
            a = self.rms_norm(x, self.w[p + "input_layernorm.weight"])
            q = self.linear(a, p + "self_attn.q_proj").view(T, H, d).transpose(0, 1)    # [H, T, d]
            k = self.linear(a, p + "self_attn.k_proj").view(T, KV, d).transpose(0, 1)
            v = self.linear(a, p + "self_attn.v_proj").view(T, KV, d).transpose(0, 1)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            if self.cache[i] is not None:
                k = torch.cat((self.cache[i][0], k), dim=1)
                v = torch.cat((self.cache[i][1], v), dim=1)
            self.cache[i] = (k, v)
            k = k.repeat_interleave(H // KV, dim=0)                                       # repeat_kv
            v = v.repeat_interleave(H // KV, dim=0)
            scores = torch.matmul(q, k.transpose(1, 2)) / math.sqrt(d)
            if mask is not None:
                scores = scores + mask
            out = torch.matmul(torch.softmax(scores, dim=-1, dtype=torch.float32), v)     # [H, T, d]
            x = x + self.linear(out.transpose(0, 1).reshape(T, self.h), p + "self_attn.o_proj")
            m = self.rms_norm(x, self.w[p + "post_attention_layernorm.weight"])
            x = x + self.linear(F.silu(self.linear(m, p + "mlp.gate_proj")) * self.linear(m, p + "mlp.up_proj"), p + "mlp.down_proj")
        x = self.rms_norm(x, self.w["model.norm.weight"])
        return F.linear(x, self.head)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir")
    parser.add_argument("--ids", required=True)
    parser.add_argument("--new", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.perf_counter()
    config, weights = load(args.dir)
    load_s = time.perf_counter() - clock
    if config.get("model_type") not in ("llama", "mistral", "qwen2"):
        sys.exit(f"{args.dir}: model_type {config.get('model_type')} is not a LLaMA-family model")
    prompt = torch.tensor([int(s) for s in args.ids.split(",")], dtype=torch.long)
    model = Llama(config, weights)
    new, steps = [], []
    with torch.inference_mode():
        clock = time.perf_counter()
        logits = model.forward(prompt, 0)
        new.append(int(torch.argmax(logits[-1])))
        prefill_ms = (time.perf_counter() - clock) * 1e3
        for step in range(args.new - 1):
            clock = time.perf_counter()
            logits = model.forward(torch.tensor([new[-1]]), len(prompt) + step)
            new.append(int(torch.argmax(logits[-1])))
            steps.append((time.perf_counter() - clock) * 1e3)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "load_s": load_s,
                      "prefill_ms": prefill_ms, "decode_ms_per_token": sum(steps) / max(len(steps), 1),
                      "decode_ms_median": float(np.median(steps)) if steps else 0.0, "new_ids": new}))


if __name__ == "__main__":
    main()
