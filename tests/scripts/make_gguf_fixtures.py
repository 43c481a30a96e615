#!/usr/bin/env python3
"""Writes the GGUF test fixtures in tests/fixtures/gguf/ (used by tests/io/test_gguf.cpp).

What it makes (gguf-py, i.e. `pip install gguf numpy transformers`, is the oracle):
  dequant_<TYPE>.bin / .f32  raw ggml blocks of one type and their fp32 values from
                             gguf.quants.dequantize. Blocks come from gguf.quants.quantize
                             (types it can quantize), from random bytes with finite fp16
                             scales (every type: reaches all code bits), and, when the real
                             models are present, the first blocks of a real tensor.
  tiny_<arch>.gguf           tiny llama / qwen2 / gemma3 models written with gguf.GGUFWriter:
                             a small tokenizer, two layers with tensors of several ggml types
                             (llama: also metadata of every value type and a llama3
                             rope_freqs tensor; qwen2: q/k/v biases; gemma3: norms as 1 + w).
  tiny_<arch>.json           what maca must return for it: HF config values and, per HF
                             tensor name, shape and a bit checksum of the fp32 values (through
                             transformers' GGUF loader code: llama q/k un-permuted, gemma3
                             norms minus 1).
  real_models.json           checksums of a few tensors of the real SmolLM2 / gemma-3 GGUF
                             files (GGUF and HF view); only rewritten when the models exist.
and in tests/fuzz/corpus/gguf/ two small seed files for tests/fuzz/fuzz_gguf.cpp (a tiny
llama with the legacy quant types, a tiny gemma3 with the K-quants).

Checksum of a fp32 array: its values' bit patterns as uint64, s1 = sum, s2 = sum of
bits * (index + 1), both mod 2^64 - exact and order-sensitive.

Rerun from the repository root:  python3 tests/scripts/make_gguf_fixtures.py
(real models are looked up in $MACA_MODEL_DIR, else ~/.cache/maca/models). Output is
deterministic (fixed seeds).
"""
import functools
import json
import os
from pathlib import Path

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize
from transformers.modeling_gguf_pytorch_utils import Gemma2TensorProcessor, LlamaTensorProcessor, TensorProcessor

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "gguf"
SEEDS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "gguf"
MODEL_DIR = Path(os.environ.get("MACA_MODEL_DIR", Path.home() / ".cache" / "maca" / "models"))
SMOL = MODEL_DIR / "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA = MODEL_DIR / "gemma-3-270m-q4_k_m.gguf"

# Byte offsets of the fp16 scale fields inside one block, per type.
SCALE_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
QUANTIZABLE = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]


def checksum(a: np.ndarray) -> list[int]:
    bits = np.ascontiguousarray(a, dtype=np.float32).ravel().view(np.uint32).astype(np.uint64)
    idx = np.arange(1, bits.size + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return [int(bits.sum(dtype=np.uint64)), int((bits * idx).sum(dtype=np.uint64))]


def random_blocks(rng, qtype, n_blocks):
    """Random bytes with every fp16 scale replaced by a finite value (some subnormal)."""
    _, type_size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in SCALE_FIELDS[qtype]:
        scales = (rng.standard_normal(n_blocks) * 1e-2).astype(np.float16)
        scales[0] = np.float16(6e-8)  # subnormal
        raw[:, off:off + 2] = scales.view(np.uint8).reshape(n_blocks, 2)
    return raw


@functools.cache
def reader(path):
    return gguf.GGUFReader(path)


def real_blocks(qtype, n_blocks):
    for path in (SMOL, GEMMA):
        if not path.exists():
            continue
        for t in reader(path).tensors:
            if t.tensor_type == qtype:
                _, type_size = gguf.GGML_QUANT_SIZES[qtype]
                return np.asarray(t.data).reshape(-1)[: n_blocks * type_size].reshape(n_blocks, type_size)
    return None


def dequant_vectors(rng):
    for qtype in [T.F32, T.F16, T.BF16, *QUANTIZABLE, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]:
        parts = []
        if qtype == T.F32:
            parts.append(rng.standard_normal(64).astype(np.float32).view(np.uint8))
        elif qtype == T.F16:
            v = np.concatenate([rng.standard_normal(60), [np.inf, -np.inf, 6e-8, -0.0]]).astype(np.float16)
            parts.append(v.view(np.uint8))
        elif qtype == T.BF16:
            parts.append(quantize(rng.standard_normal(64).astype(np.float32), T.BF16).ravel())
        else:
            block_size, _ = gguf.GGML_QUANT_SIZES[qtype]
            if qtype in QUANTIZABLE:
                x = rng.standard_normal(4 * block_size).astype(np.float32)
                x[:block_size] = 0.0  # an all-zero block
                parts.append(quantize(x, qtype).ravel())
            parts.append(random_blocks(rng, qtype, 4).ravel())
            real = real_blocks(qtype, 2)
            if real is not None:
                parts.append(real.ravel())
        raw = np.concatenate(parts).astype(np.uint8)
        expected = dequantize(raw, qtype).astype(np.float32, copy=False)
        (OUT / f"dequant_{qtype.name}.bin").write_bytes(raw.tobytes())
        (OUT / f"dequant_{qtype.name}.f32").write_bytes(np.ascontiguousarray(expected).tobytes())


# Tiny models: hidden 64, 4 heads, 2 KV heads, 2 layers, ffn 128, vocab 32.
HIDDEN, HEADS, KV_HEADS, LAYERS, FFN, VOCAB = 64, 4, 2, 2, 128, 32
# gemma3 gets key_length 32 (not hidden / heads) to show head_dim comes from it.
HEAD_DIM = {"llama": 16, "qwen2": 16, "gemma3": 32}
LLAMA3_FACTOR = 8.0


def llama3_rope_factors(head_dim, theta):
    """convert_hf_to_gguf.py LlamaModel.generate_extra_tensors, Llama 3.1 parameters."""
    freqs = 1.0 / (theta ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    low_wavelen, high_wavelen = 8192 / 1.0, 8192 / 4.0
    out = []
    for freq in freqs:
        wavelen = 2 * np.pi / freq
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(LLAMA3_FACTOR)
        else:
            smooth = (8192 / wavelen - 1.0) / (4.0 - 1.0)
            out.append(1 / ((1 - smooth) / LLAMA3_FACTOR + smooth))
    return np.array(out, dtype=np.float32)


def add_test_keys(w):
    """One key of every value type for the getter tests."""
    w.add_uint8("test.u8", 200)
    w.add_int8("test.i8", -5)
    w.add_uint16("test.u16", 65535)
    w.add_int16("test.i16", -300)
    w.add_int32("test.i32", -70000)
    w.add_uint64("test.u64_big", 2**63 + 5)
    w.add_int64("test.i64", -1234567890123)
    w.add_float32("test.f32", 0.25)
    w.add_float64("test.f64", 0.1)
    w.add_bool("test.bool", True)
    w.add_string("test.str", "h\u00e9llo")
    w.add_array("test.int_array", [1, -2, 3])
    w.add_array("test.float_array", [0.5, 1.5])
    w.add_array("test.nested", [[1, 2], [3]])


def tiny_model(rng, arch):
    """tiny_<arch>.gguf and tiny_<arch>.json. llama: untied, llama3 rope_freqs, every value
    type; qwen2: q/k/v biases, tied; gemma3: the four norms per layer plus q/k norms,
    stored as 1 + w like llama.cpp's converter does."""
    head_dim = HEAD_DIM[arch]
    theta = {"llama": 10000.0, "qwen2": 1000000.0, "gemma3": 1000000.0}[arch]
    path = OUT / f"tiny_{arch}.gguf"
    w = gguf.GGUFWriter(str(path), arch)
    w.add_block_count(LAYERS)
    w.add_context_length(128)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_layer_norm_rms_eps(1e-6 if arch == "gemma3" else 1e-5)
    w.add_rope_freq_base(theta)
    w.add_vocab_size(VOCAB)
    if arch == "gemma3":
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
        w.add_sliding_window(8)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i}" for i in range(VOCAB)])
    w.add_token_types([1] * VOCAB)
    w.add_token_scores([float(-i) for i in range(VOCAB)])
    w.add_token_merges(["t o", "to k"])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    if arch == "llama":
        add_test_keys(w)

    ref = {}  # gguf name -> fp32 values as stored, shape [ne1, ne0]

    def add(name, shape, qtype, values=None):
        x = rng.standard_normal(shape).astype(np.float32) if values is None else values
        if qtype == T.F32:
            data = x
        elif qtype == T.F16:
            data = x.astype(np.float16)
        else:
            data = quantize(x, qtype)
        w.add_tensor(name, data, raw_dtype=None if qtype in (T.F32, T.F16) else qtype)
        ref[name] = (dequantize(data.view(np.uint8) if qtype not in (T.F32, T.F16) else data, qtype)
                     .astype(np.float32).reshape(shape))

    def norm(name, n):
        x = rng.standard_normal(n).astype(np.float32) * np.float32(0.1)
        add(name, (n,), T.F32, x + np.float32(1) if arch == "gemma3" else x)

    q_rows, kv_rows = HEADS * head_dim, KV_HEADS * head_dim
    add("token_embd.weight", (VOCAB, HIDDEN), T.F16)
    norm("output_norm.weight", HIDDEN)
    if arch == "llama":
        add("output.weight", (VOCAB, HIDDEN), T.Q8_0)
        w.add_tensor("rope_freqs.weight", llama3_rope_factors(head_dim, theta))
    for i in range(LAYERS):
        norm(f"blk.{i}.attn_norm.weight", HIDDEN)
        add(f"blk.{i}.attn_q.weight", (q_rows, HIDDEN), T.Q4_0)
        add(f"blk.{i}.attn_k.weight", (kv_rows, HIDDEN), T.Q4_1)
        add(f"blk.{i}.attn_v.weight", (kv_rows, HIDDEN), T.Q5_0)
        add(f"blk.{i}.attn_output.weight", (HIDDEN, q_rows), T.Q5_1)
        norm(f"blk.{i}.ffn_norm.weight", HIDDEN)
        add(f"blk.{i}.ffn_gate.weight", (FFN, HIDDEN), T.Q8_0)
        add(f"blk.{i}.ffn_up.weight", (FFN, HIDDEN), T.BF16)
        add(f"blk.{i}.ffn_down.weight", (HIDDEN, FFN), T.F32)
        if arch == "qwen2":
            for proj, rows in (("q", q_rows), ("k", kv_rows), ("v", kv_rows)):
                add(f"blk.{i}.attn_{proj}.bias", (rows,), T.F32)
        if arch == "gemma3":
            norm(f"blk.{i}.attn_q_norm.weight", head_dim)
            norm(f"blk.{i}.attn_k_norm.weight", head_dim)
            norm(f"blk.{i}.post_attention_norm.weight", HIDDEN)
            norm(f"blk.{i}.post_ffw_norm.weight", HIDDEN)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    config = {"num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS}
    proc = {"llama": LlamaTensorProcessor, "gemma3": Gemma2TensorProcessor}.get(arch, TensorProcessor)(config=config)
    tensors = {}
    for name, x in ref.items():
        x = proc.process(x, name).weights.astype(np.float32, copy=False)
        tensors[hf_name(name, arch)] = {"shape": list(x.shape), "checksum": checksum(x)}
    expected = {
        "config": {
            "model_type": "gemma3_text" if arch == "gemma3" else arch, "hidden_size": HIDDEN,
            "intermediate_size": FFN, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
            "num_key_value_heads": KV_HEADS, "head_dim": head_dim, "rms_norm_eps": 1e-6 if arch == "gemma3" else 1e-5,
            "rope_theta": theta, "max_position_embeddings": 128, "vocab_size": VOCAB,
            "tie_word_embeddings": arch != "llama", "bos_token_id": 1, "eos_token_id": 2,
            "attention_bias": arch == "qwen2",
            "rope_scaling": {"rope_type": "llama3", "factor": LLAMA3_FACTOR, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}
            if arch == "llama" else None,
        },
        "tensors": tensors,
    }
    if arch == "gemma3":
        expected["config"].update({"sliding_window": 8, "query_pre_attn_scalar": head_dim,
                                   "layer_types": ["sliding_attention"] * LAYERS})
    (OUT / f"tiny_{arch}.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")


LAYER_NAMES = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
}
GEMMA_NAMES = {**LAYER_NAMES, "post_attention_norm": "post_attention_layernorm",
               "ffn_norm": "pre_feedforward_layernorm", "post_ffw_norm": "post_feedforward_layernorm"}


def hf_name(name, arch):
    top = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
           "output.weight": "lm_head.weight"}
    if name in top:
        return top[name]
    _, layer, stem, suffix = name.split(".")
    return f"model.layers.{layer}.{(GEMMA_NAMES if arch == 'gemma3' else LAYER_NAMES)[stem]}.{suffix}"


REAL_TENSORS = {
    SMOL: ["blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.ffn_down.weight", "blk.0.attn_norm.weight",
           "blk.29.ffn_up.weight", "output_norm.weight"],
    GEMMA: ["blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.ffn_down.weight",
            "blk.0.attn_norm.weight", "blk.0.attn_q_norm.weight", "blk.17.post_ffw_norm.weight",
            "output_norm.weight"],
}


def real_models():
    if not (SMOL.exists() and GEMMA.exists()):
        print(f"real models not found in {MODEL_DIR}; real_models.json left as it is")
        return
    out = {}
    for path, names in REAL_TENSORS.items():
        r = reader(path)
        arch = r.fields["general.architecture"].contents()
        heads = int(r.fields[f"{arch}.attention.head_count"].contents())
        kv = int(r.fields[f"{arch}.attention.head_count_kv"].contents())
        proc = (LlamaTensorProcessor if arch == "llama" else Gemma2TensorProcessor)(
            config={"num_attention_heads": heads, "num_key_value_heads": kv})
        by_name = {t.name: t for t in r.tensors}
        entries = {}
        for name in names:
            t = by_name[name]
            x = dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
            hf = proc.process(x, name).weights.astype(np.float32, copy=False)
            entries[name] = {"hf_name": hf_name(name, arch), "type": t.tensor_type.name, "shape": list(x.shape),
                             "sum": float(x.astype(np.float64).sum()), "checksum": checksum(x),
                             "hf_checksum": checksum(hf)}
        out[path.name] = {"architecture": arch, "tensors": entries}
    (OUT / "real_models.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


def fuzz_seeds(rng):
    def write(name, arch, meta, tensors):
        w = gguf.GGUFWriter(str(SEEDS / name), arch)
        for key, value in meta.items():
            w.add_uint32(f"{arch}.{key}", value)
        w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-6)
        for tname, (shape, qtype) in tensors.items():
            if qtype == T.F32:
                w.add_tensor(tname, rng.standard_normal(shape).astype(np.float32))
            elif qtype in QUANTIZABLE:
                w.add_tensor(tname, quantize(rng.standard_normal(shape).astype(np.float32), qtype), raw_dtype=qtype)
            else:  # K-quant: one row of random blocks
                w.add_tensor(tname, random_blocks(rng, qtype, shape[0] * shape[1] // 256), raw_dtype=qtype)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()

    meta = {"embedding_length": 32, "feed_forward_length": 32, "block_count": 1, "context_length": 64,
            "attention.head_count": 2, "attention.head_count_kv": 1}
    write("llama_legacy.gguf", "llama", meta, {
        "token_embd.weight": ((2, 32), T.Q8_0), "blk.0.attn_q.weight": ((32, 32), T.Q4_0),
        "blk.0.attn_k.weight": ((16, 32), T.Q4_1), "blk.0.attn_v.weight": ((16, 32), T.Q5_0),
        "blk.0.attn_output.weight": ((32, 32), T.Q5_1), "blk.0.attn_norm.weight": ((32,), T.F32)})
    meta = {"embedding_length": 256, "feed_forward_length": 256, "block_count": 1, "context_length": 64,
            "attention.head_count": 1, "attention.head_count_kv": 1, "attention.sliding_window": 16}
    write("gemma3_kquants.gguf", "gemma3", meta, {
        "token_embd.weight": ((2, 256), T.Q4_K), "blk.0.ffn_up.weight": ((1, 256), T.Q5_K),
        "blk.0.ffn_down.weight": ((1, 256), T.Q6_K), "blk.0.ffn_gate.weight": ((1, 256), T.Q3_K),
        "blk.0.attn_v.weight": ((1, 256), T.Q2_K), "blk.0.attn_norm.weight": ((8,), T.F32)})


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    dequant_vectors(rng)
    for arch in ("llama", "qwen2", "gemma3"):
        tiny_model(rng, arch)
    real_models()
    SEEDS.mkdir(parents=True, exist_ok=True)
    fuzz_seeds(rng)
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
