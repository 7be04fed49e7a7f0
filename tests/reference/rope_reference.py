#!/usr/bin/python3
"""Rotary position embedding exactly as Hugging Face's float32 LLaMA computes it (LlamaRotaryEmbedding + apply_rotary_pos_emb:
inv_freq = 1/θ^(arange(0, d, 2)/d) in float32, freqs = inv_freq ⊗ positions in float32, cos/sin of cat(freqs, freqs),
q·cos + rotate_half(q)·sin), for the rotary kernel tests.

usage: rope_reference.py OUT_DIR SEED ROWS HEADS HEAD_DIM THETA POS,POS,...
writes OUT_DIR/x.npy (the random input, float32 [ROWS, HEADS*HEAD_DIM]) and OUT_DIR/y.npy (rotated, float32).
"""
import sys
import numpy as np
import torch


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def main():
    out, seed, rows, heads, d, theta, positions = sys.argv[1:8]
    rows, heads, d, theta = int(rows), int(heads), int(d), float(theta)
    positions = torch.tensor([int(p) for p in positions.split(',')], dtype=torch.int64)
    torch.manual_seed(int(seed))
    x = torch.randn(rows, heads, d, dtype=torch.float32)
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.int64).float() / d))
    freqs = (inv_freq[:, None].float() @ positions[None, :].float()).transpose(0, 1)   # [rows, d/2], float32
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    y = x * cos + rotate_half(x) * sin
    np.save(f"{out}/x.npy", x.reshape(rows, heads * d).numpy())
    np.save(f"{out}/y.npy", y.reshape(rows, heads * d).numpy())


if __name__ == "__main__":
    main()
