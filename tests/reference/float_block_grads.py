#!/usr/bin/python3
"""Float64 PyTorch autograd reference for a float[,] model of transformer blocks and linear layers (ShardGen's
[TransformerBlock], [ColumnParallel], [RowParallel]), written from the definitions, independent of ShardGen's code.

    float_block_grads.py IN.json OUT.json

IN.json: {"x": [[...]], "dy": [[...]], "lengths": [..] or null, "layers": [LAYER, ...]} where a LAYER is
  {"kind": "block", "heads", "kv_heads", "norm": "layer"|"rms", "eps", "causal", "activation",
   "attn_scale", "attn_shift"?, "qkv_w" [d, (H + 2 KV) dh], "qkv_b"?, "out_w" [H dh, d], "out_b"?,
   "mlp_scale", "mlp_shift"?, "up_w" [d, ffn], "up_b"?, "down_w" [ffn, d], "down_b"?}
  (every weight [in, out]; q|k|v columns: every query head, then every key head, then every value head), or
  {"kind": "linear", "w", "b"?, "out_in": bool, "activation"}.
A block is h = x + Attn(Norm1(x)), y = h + Mlp(Norm2(h)); attention per packed sequence, query head i reads KV head
i // (H / KV), optional causal mask. OUT.json: {"y", "dx", "layers": [{name: gradient, ...}, ...]}: the forward's
output and the gradients of sum(y * dy) (dy the output gradient), every parameter by its input name.
"""
import json
import math
import sys

import torch

torch.set_default_dtype(torch.float64)


def activation(z, kind):
    if kind == "none":
        return z
    if kind == "gelu":
        return 0.5 * z * (1 + torch.erf(z / math.sqrt(2)))
    if kind == "gelutanh":
        return 0.5 * z * (1 + torch.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))
    if kind == "silu":
        return z * torch.sigmoid(z)
    if kind == "relu":
        return torch.relu(z)
    if kind == "tanh":
        return torch.tanh(z)
    raise SystemExit(f"float_block_grads.py: unknown activation {kind}")


def norm(x, p, kind, scale, shift, eps):
    if kind == "layer":
        centered = x - x.mean(dim=1, keepdim=True)
        y = centered / torch.sqrt((centered ** 2).mean(dim=1, keepdim=True) + eps) * p[scale]
        return y + p[shift] if shift in p else y
    return x / torch.sqrt((x ** 2).mean(dim=1, keepdim=True) + eps) * p[scale]


def linear(x, p, w, b):
    y = x @ p[w]
    return y + p[b] if b in p else y


def attention(qkv, heads, kv_heads, causal, starts):
    t = qkv.shape[0]
    dh = qkv.shape[1] // (heads + 2 * kv_heads)
    group = heads // kv_heads
    outputs = []
    for s in range(len(starts) - 1):
        a, b = starts[s], starts[s + 1]
        per_head = []
        for h in range(heads):
            kvh = h // group
            q = qkv[a:b, h * dh:(h + 1) * dh]
            k = qkv[a:b, (heads + kvh) * dh:(heads + kvh + 1) * dh]
            v = qkv[a:b, (heads + kv_heads + kvh) * dh:(heads + kv_heads + kvh + 1) * dh]
            scores = q @ k.T / math.sqrt(dh)
            if causal:
                mask = torch.triu(torch.ones(b - a, b - a, dtype=torch.bool), diagonal=1)
                scores = scores.masked_fill(mask, float("-inf"))
            per_head.append(torch.softmax(scores, dim=1) @ v)
        outputs.append(torch.cat(per_head, dim=1))
    out = torch.cat(outputs, dim=0)
    assert out.shape[0] == t
    return out


def block(x, p, layer, starts):
    n1 = norm(x, p, layer["norm"], "attn_scale", "attn_shift", layer["eps"])
    qkv = linear(n1, p, "qkv_w", "qkv_b")
    context = attention(qkv, layer["heads"], layer["kv_heads"], layer["causal"], starts)
    h = x + linear(context, p, "out_w", "out_b")
    n2 = norm(h, p, layer["norm"], "mlp_scale", "mlp_shift", layer["eps"])
    up = activation(linear(n2, p, "up_w", "up_b"), layer["activation"])
    return h + linear(up, p, "down_w", "down_b")


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    x = torch.tensor(spec["x"], requires_grad=True)
    dy = torch.tensor(spec["dy"])
    t = x.shape[0]
    lengths = spec.get("lengths") or [t]
    starts = [0]
    for n in lengths:
        starts.append(starts[-1] + n)
    params = []
    a = x
    for layer in spec["layers"]:
        p = {k: torch.tensor(v, requires_grad=True) for k, v in layer.items() if isinstance(v, list)}
        params.append(p)
        if layer["kind"] == "block":
            a = block(a, p, layer, starts)
        else:
            w = p["w"].T if layer["out_in"] else p["w"]
            z = a @ w
            if "b" in p:
                z = z + p["b"]
            a = activation(z, layer["activation"])
    (a * dy).sum().backward()
    out = {
        "y": a.detach().tolist(),
        "dx": x.grad.tolist(),
        "layers": [{k: v.grad.tolist() for k, v in p.items()} for p in params],
    }
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
