#!/usr/bin/python3
"""PyTorch reference for ShardGen's checkpoint tests: Hugging Face conventions written out in torch, no transformers.

  make DIR [options]           write a random-weight checkpoint in Hugging Face layout (config.json, safetensors, index)
  dump CHECKPOINT OUTDIR       every tensor of a checkpoint (a folder or one .safetensors file) as float32 OUTDIR/NAME.npy
  logits DIR --ids 1,2,3 [--lengths 2,1] --out FILE.npy
                               float64 logits [tokens, vocab] of packed sequences (positions restart per sequence)
  generate DIR --ids 1,2,3 --new N [--out FILE.npy]
                               greedy decoding by full recompute; prints the new ids

Its own safetensors parser (struct + json + numpy), independent of ShardGen's reader. The model math follows
transformers' modeling_llama.py (RMSNorm, rotate_half RoPE, repeat_kv, SwiGLU) and modeling_gpt2.py (LayerNorm,
learned positions, Conv1D [in, out], gelu_new), in float64. A mistral config's sliding_window W (make's
--sliding-window) masks as transformers' masking_utils.py does (sliding_window_overlay and-ed with the causal mask):
query i sees keys j with i - W < j <= i; on every mistral layer, and on the qwen2 layers its config makes
"sliding_attention" (use_sliding_window, max_window_layers, layer_types: see layer_windows; make's
--use-sliding-window, --max-window-layers, --layer-types).
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


# ---------------------------------------------------------------------------------------------------- safetensors

def read_safetensors(path):
    """name -> numpy array (BF16 widened to float32); every entry's offsets checked."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = memoryview(data)[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        assert 0 <= begin <= end <= len(body), f"{path}: {name} offsets {begin},{end} outside {len(body)}"
        raw = body[begin:end]
        shape = tuple(entry["shape"])
        if entry["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(raw, dtype=np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<"))
        out[name] = array.reshape(shape)
    return out


def write_safetensors(path, tensors, dtype):
    """tensors: list of (name, float tensor); dtype F32, F64, F16 or BF16 (torch's round-to-nearest-even)."""
    torch_dtype = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16}[dtype]
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors:
        if t.dtype == torch.bool:
            blob, tdtype = t.numpy().astype(np.uint8).tobytes(), "BOOL"
        elif t.dim() == 0:                                   # scalar buffers keep float32 (GPT-2's masked_bias)
            blob, tdtype = t.to(torch.float32).numpy().tobytes(), "F32"
        else:
            c = t.to(torch_dtype).contiguous()
            blob = c.view(torch.int16).numpy().tobytes() if dtype in ("F16", "BF16") else c.numpy().tobytes()
            tdtype = dtype
        header[name] = {"dtype": tdtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def load_checkpoint(directory):
    """(config dict, name -> float64 torch tensor) of a folder with model.safetensors or an index."""
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        for k, v in read_safetensors(os.path.join(directory, name)).items():
            tensors[k] = torch.from_numpy(np.array(v, dtype=np.float64)) if v.dtype != np.bool_ else torch.from_numpy(v.copy())
    return config, tensors


# ---------------------------------------------------------------------------------------------------- make

def make(args):
    g = torch.Generator().manual_seed(args.seed)
    llama = args.model_type != "gpt2"
    h, V, L, f = args.hidden, args.vocab, args.layers, args.ffn
    heads, kv = args.heads, (args.kv_heads or args.heads)
    d = h // heads
    tied = args.tied if args.tied is not None else (not llama)

    def randn(*shape, std=1.0, mean=0.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * std + mean

    def linear(out_f, in_f):                                 # nn.Linear [out, in], std 1/sqrt(in)
        return randn(out_f, in_f, std=1 / math.sqrt(in_f))

    def conv1d(in_f, out_f):                                 # Conv1D [in, out]
        return randn(in_f, out_f, std=1 / math.sqrt(in_f))

    def scale(n):
        return randn(n, std=0.1, mean=1.0)

    def small(n):
        return randn(n, std=0.1)

    t = []
    if llama:
        t.append(("model.embed_tokens.weight", randn(V, h, std=1 / math.sqrt(h))))
        for i in range(L):
            p = f"model.layers.{i}."
            t.append((p + "input_layernorm.weight", scale(h)))
            t.append((p + "self_attn.q_proj.weight", linear(heads * d, h)))
            t.append((p + "self_attn.k_proj.weight", linear(kv * d, h)))
            t.append((p + "self_attn.v_proj.weight", linear(kv * d, h)))
            if args.model_type == "qwen2":
                t.append((p + "self_attn.q_proj.bias", small(heads * d)))
                t.append((p + "self_attn.k_proj.bias", small(kv * d)))
                t.append((p + "self_attn.v_proj.bias", small(kv * d)))
            t.append((p + "self_attn.o_proj.weight", linear(h, heads * d)))
            t.append((p + "post_attention_layernorm.weight", scale(h)))
            t.append((p + "mlp.gate_proj.weight", linear(f, h)))
            t.append((p + "mlp.up_proj.weight", linear(f, h)))
            t.append((p + "mlp.down_proj.weight", linear(h, f)))
        t.append(("model.norm.weight", scale(h)))
        if not tied:
            t.append(("lm_head.weight", linear(V, h)))
        config = {"architectures": [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"}[args.model_type]],
                  "model_type": args.model_type, "vocab_size": V, "hidden_size": h, "num_attention_heads": heads,
                  "num_key_value_heads": kv, "intermediate_size": f, "num_hidden_layers": L,
                  "max_position_embeddings": args.positions, "rms_norm_eps": args.eps, "rope_theta": args.rope_theta,
                  "hidden_act": "silu", "tie_word_embeddings": tied, "rope_scaling": None}
        if args.sliding_window is not None:
            assert args.model_type in ("mistral", "qwen2"), "--sliding-window is Mistral's and Qwen2's (config.json sliding_window)"
            config["sliding_window"] = args.sliding_window
        if args.model_type == "qwen2":
            config["use_sliding_window"] = args.use_sliding_window
            if args.max_window_layers is not None:
                config["max_window_layers"] = args.max_window_layers
        else:
            assert not args.use_sliding_window and args.max_window_layers is None, "--use-sliding-window and --max-window-layers are Qwen2's"
        if args.layer_types is not None:
            config["layer_types"] = [{"full": "full_attention", "sliding": "sliding_attention"}.get(t, t) for t in args.layer_types.split(",")]
    else:
        pre = "" if args.no_prefix else "transformer."
        P = args.positions
        t.append((pre + "wte.weight", randn(V, h, std=1 / math.sqrt(h))))
        t.append((pre + "wpe.weight", randn(P, h, std=1 / math.sqrt(h))))
        for i in range(L):
            p = f"{pre}h.{i}."
            t.append((p + "ln_1.weight", scale(h)))
            t.append((p + "ln_1.bias", small(h)))
            t.append((p + "attn.bias", torch.tril(torch.ones(P, P, dtype=torch.bool)).view(1, 1, P, P)))   # a buffer, not a weight
            t.append((p + "attn.masked_bias", torch.tensor(-1e4)))
            t.append((p + "attn.c_attn.weight", conv1d(h, 3 * h)))
            t.append((p + "attn.c_attn.bias", small(3 * h)))
            t.append((p + "attn.c_proj.weight", conv1d(h, h)))
            t.append((p + "attn.c_proj.bias", small(h)))
            t.append((p + "ln_2.weight", scale(h)))
            t.append((p + "ln_2.bias", small(h)))
            t.append((p + "mlp.c_fc.weight", conv1d(h, f)))
            t.append((p + "mlp.c_fc.bias", small(f)))
            t.append((p + "mlp.c_proj.weight", conv1d(f, h)))
            t.append((p + "mlp.c_proj.bias", small(h)))
        t.append((pre + "ln_f.weight", scale(h)))
        t.append((pre + "ln_f.bias", small(h)))
        if not tied:
            t.append(("lm_head.weight", linear(V, h)))
        config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": V, "n_embd": h,
                  "n_head": heads, "n_layer": L, "n_positions": P, "n_inner": f if f != 4 * h else None,
                  "activation_function": "gelu_new", "layer_norm_epsilon": args.eps, "tie_word_embeddings": tied}

    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)
    if args.shards == 1:
        write_safetensors(os.path.join(args.dir, "model.safetensors"), t, args.dtype)
    else:
        weight_map, k = {}, 0
        per = [len(t) // args.shards + (1 if s < len(t) % args.shards else 0) for s in range(args.shards)]
        for s, count in enumerate(per):
            name = f"model-{s + 1:05d}-of-{args.shards:05d}.safetensors"
            write_safetensors(os.path.join(args.dir, name), t[k:k + count], args.dtype)
            for n, _ in t[k:k + count]:
                weight_map[n] = name
            k += count
        with open(os.path.join(args.dir, "model.safetensors.index.json"), "w") as fh:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, fh, indent=2)


def dump(args):
    os.makedirs(args.out, exist_ok=True)
    if os.path.isdir(args.checkpoint):
        _, tensors = load_checkpoint(args.checkpoint)
        tensors = {k: v.numpy() for k, v in tensors.items()}
    else:
        tensors = read_safetensors(args.checkpoint)
    for name, v in tensors.items():
        np.save(os.path.join(args.out, name + ".npy"), np.asarray(v, dtype=np.float32))


# ---------------------------------------------------------------------------------------------------- models

def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = (x - mean).pow(2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope(x, positions, theta):
    """x [T, heads, d]; Hugging Face LLaMA: inv_freq = 1/θ^(arange(0, d, 2)/d), emb = cat(freqs, freqs)."""
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    freqs = positions.to(torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return x * emb.cos()[:, None, :] + rotate_half(x) * emb.sin()[:, None, :]


def attention(q, k, v, starts, window=None):
    """q [T, H, d], k/v [T, H, d] (KV already repeated); causal within each packed sequence; a sliding window W also
    hides keys j <= i - W (transformers' sliding_window_overlay: kv_idx > q_idx - sliding_window)."""
    T, H, d = q.shape
    out = torch.zeros_like(q)
    for s, e in starts:
        qs, ks, vs = q[s:e].transpose(0, 1), k[s:e].transpose(0, 1), v[s:e].transpose(0, 1)   # [H, n, d]
        scores = qs @ ks.transpose(-1, -2) / math.sqrt(d)
        n = e - s
        mask = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
        if window is not None:
            mask |= torch.tril(torch.ones(n, n, dtype=torch.bool), diagonal=-window)
        scores = scores.masked_fill(mask, float("-inf"))
        out[s:e] = (torch.softmax(scores, dim=-1) @ vs).transpose(0, 1)
    return out


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def segments(lengths):
    starts, s = [], 0
    for n in lengths:
        starts.append((s, s + n))
        s += n
    return starts


def forward(config, w, ids, lengths):
    ids = torch.tensor(ids, dtype=torch.long)
    spans = segments(lengths)
    positions = torch.cat([torch.arange(e - s) for s, e in spans])
    if config["model_type"] == "gpt2":
        return gpt2(config, w, ids, positions, spans)
    return llama(config, w, ids, positions, spans)


def layer_windows(c):
    """Each layer's sliding window (None: full attention), decided as transformers' configs decide it.
    mistral (configuration_mistral.py, modeling_mistral.py): config.sliding_window on every layer; MistralModel ignores
    layer_types. qwen2 (configuration_qwen2.py): sliding_window = sliding_window if use_sliding_window else None (4096
    when the key is absent); layer_types = config's, else "sliding_attention" if sliding_window is not None and
    i >= max_window_layers (default 28); Qwen2Attention: sliding_window if layer_type == "sliding_attention" else None.
    llama: no sliding window."""
    L = c["num_hidden_layers"]
    if c["model_type"] == "mistral":
        return [c.get("sliding_window")] * L
    if c["model_type"] != "qwen2":
        return [None] * L
    window = c.get("sliding_window", 4096) if c.get("use_sliding_window", False) else None
    types = c.get("layer_types")
    if types is None:
        types = ["sliding_attention" if window is not None and i >= c.get("max_window_layers", 28) else "full_attention"
                 for i in range(L)]
    assert len(types) == L, "layer_types needs one entry per layer"
    assert all(t in ("full_attention", "sliding_attention") for t in types), f"unknown layer type in {types}"
    assert window is not None or "sliding_attention" not in types, "a sliding_attention layer needs use_sliding_window and sliding_window"
    return [window if t == "sliding_attention" else None for t in types]


def llama(c, w, ids, positions, spans):
    h, H = c["hidden_size"], c["num_attention_heads"]
    KV = c.get("num_key_value_heads") or H
    d, eps, theta = h // H, c.get("rms_norm_eps", 1e-6), c.get("rope_theta", 10000.0)
    qkv_bias = c["model_type"] == "qwen2"
    windows = layer_windows(c)
    x = w["model.embed_tokens.weight"][ids]
    T = len(ids)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def proj(name):
            y = a @ w[p + f"self_attn.{name}.weight"].T
            return y + w[p + f"self_attn.{name}.bias"] if qkv_bias else y
        q = rope(proj("q_proj").view(T, H, d), positions, theta)
        k = rope(proj("k_proj").view(T, KV, d), positions, theta)
        v = proj("v_proj").view(T, KV, d)
        k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)   # repeat_kv
        x = x + attention(q, k, v, spans, windows[i]).reshape(T, h) @ w[p + "self_attn.o_proj.weight"].T
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate, up = m @ w[p + "mlp.gate_proj.weight"].T, m @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if c.get("tie_word_embeddings", False) else w["lm_head.weight"]
    return x @ head.T


def gpt2(c, w, ids, positions, spans):
    pre = "transformer." if "transformer.wte.weight" in w else ""
    h, H, eps = c["n_embd"], c["n_head"], c.get("layer_norm_epsilon", 1e-5)
    d, T = h // H, len(ids)
    x = w[pre + "wte.weight"][ids] + w[pre + "wpe.weight"][positions]
    for i in range(c["n_layer"]):
        p = f"{pre}h.{i}."
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]              # Conv1D: x @ W[in, out] + b
        q, k, v = (t.reshape(T, H, d) for t in qkv.split(h, dim=1))
        x = x + attention(q, k, v, spans).reshape(T, h) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        x = x + gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w[pre + "ln_f.weight"], w[pre + "ln_f.bias"], eps)
    head = w[pre + "wte.weight"] if c.get("tie_word_embeddings", True) else w["lm_head.weight"]
    return x @ head.T


def ints(text):
    return [int(s) for s in text.split(",") if s.strip()]


def logits(args):
    config, w = load_checkpoint(args.dir)
    ids = ints(args.ids)
    lengths = ints(args.lengths) if args.lengths else [len(ids)]
    assert sum(lengths) == len(ids), "--lengths must sum to the number of ids"
    np.save(args.out, forward(config, w, ids, lengths).numpy())


def generate(args):
    config, w = load_checkpoint(args.dir)
    ids = ints(args.ids)
    new = []
    for _ in range(args.new):
        y = forward(config, w, ids + new, [len(ids) + len(new)])
        new.append(int(torch.argmax(y[-1]).item()))
    if args.out:
        np.save(args.out, np.array(new, dtype=np.int64))
    print(" ".join(str(i) for i in new))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--model-type", default="llama", choices=["llama", "mistral", "qwen2", "gpt2"])
    m.add_argument("--vocab", type=int, default=1003)
    m.add_argument("--hidden", type=int, default=64)
    m.add_argument("--heads", type=int, default=8)
    m.add_argument("--kv-heads", type=int, default=0)
    m.add_argument("--ffn", type=int, default=96)
    m.add_argument("--layers", type=int, default=2)
    m.add_argument("--positions", type=int, default=64)
    m.add_argument("--eps", type=float, default=1e-5)
    m.add_argument("--rope-theta", type=float, default=10000.0)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    m.add_argument("--shards", type=int, default=1)
    m.add_argument("--tied", type=lambda s: s.lower() in ("1", "true", "yes"), default=None)
    m.add_argument("--no-prefix", action="store_true", help="GPT-2 names without 'transformer.'")
    m.add_argument("--sliding-window", type=int, default=None, help="mistral, qwen2: config.json sliding_window")
    m.add_argument("--use-sliding-window", action="store_true", help="qwen2: use_sliding_window = true")
    m.add_argument("--max-window-layers", type=int, default=None, help="qwen2: max_window_layers (default: not written)")
    m.add_argument("--layer-types", default=None, help="config.json layer_types, comma-separated (full, sliding or any name)")
    d = sub.add_parser("dump")
    d.add_argument("checkpoint")
    d.add_argument("out")
    lg = sub.add_parser("logits")
    lg.add_argument("dir")
    lg.add_argument("--ids", required=True)
    lg.add_argument("--lengths")
    lg.add_argument("--out", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("dir")
    gen.add_argument("--ids", required=True)
    gen.add_argument("--new", type=int, required=True)
    gen.add_argument("--out")
    args = parser.parse_args()
    torch.set_num_threads(1)
    {"make": make, "dump": dump, "logits": logits, "generate": generate}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
