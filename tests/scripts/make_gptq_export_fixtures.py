#!/usr/bin/env python3
"""Builds the GPTQ checkpoint fixtures under tests/fixtures/gptq/.

The packer and unpacker here are written from docs/formats.md ("GPTQ
checkpoint"), independently of src/io/gptq_pack.cpp: 2/4/8-bit words hold
32/b values at bit b*j, and 3-bit words follow the explicit 10 + split + 10 +
split + 10 layout of the spec. They are the oracle for the C++ code.

Two parts:

  pack/cases.safetensors, pack/cases.json
      For bits 2, 3, 4, 8 x sym/asym x act-order off/on (plus a group_size -1
      case and an asymmetric v1 case), random codes [N, K], fp16 scales and
      zero points [G, N] and g_idx [K] (a permuted k // g with act-order),
      packed here: "<case>.qweight", ".qzeros", ".scales", ".g_idx" as a GPTQ
      checkpoint stores them, and the raw "<case>.codes" (u8 [N, K]) and
      "<case>.zeros" (i32 [G, N]). Symmetric cases use checkpoint_format gptq
      (v1, stores z - 1), asymmetric ones gptq_v2, unless the name says v1.

  llama/   a GPTQ checkpoint of the tiny llama from tests/fixtures/model/llama
      (hidden 64, intermediate 128: every dim a multiple of 32): all seven
      linears of both layers replaced by random 4-bit asymmetric act-order
      codes with group size 32 (checkpoint_format gptq_v2), the other tensors
      stored as fp16. expected.json / logits.f32 hold the logits transformers
      computes in fp32 with the dequantized weights (and the fp16-rounded other
      tensors) loaded into LlamaForCausalLM; the layout is that of
      make_model_fixtures.py.

Requires numpy, torch, transformers, safetensors. Regenerate with
  python3 tests/scripts/make_gptq_export_fixtures.py
"""
import json
import pathlib

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file, save_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "gptq"
LLAMA = ROOT / "tests" / "fixtures" / "model" / "llama"
SEQ_LENS = [5, 9]


# ---- packing, from formats.md --------------------------------------------

def pack_rows(values, bits):
    """Packs uint values [M, X] along axis 0 into int32 words [M*bits/32, X]."""
    v = values.astype(np.uint64)
    m, x = v.shape
    if bits in (2, 4, 8):
        per = 32 // bits
        v = v.reshape(m // per, per, x)
        words = np.zeros((m // per, x), dtype=np.uint64)
        for j in range(per):
            words |= v[:, j, :] << np.uint64(bits * j)
    elif bits == 3:
        v = v.reshape(m // 32, 32, x)
        w0 = np.zeros((m // 32, x), dtype=np.uint64)
        w1 = np.zeros_like(w0)
        w2 = np.zeros_like(w0)
        for j in range(10):                      # values 0-9: word 0, bits 0..29
            w0 |= v[:, j, :] << np.uint64(3 * j)
        w0 |= (v[:, 10, :] & 3) << np.uint64(30)  # value 10: bits 30-31 of word 0 ...
        w1 |= v[:, 10, :] >> np.uint64(2)        # ... and bit 0 of word 1
        for j in range(11, 21):                  # values 11-20: word 1 from bit 1
            w1 |= v[:, j, :] << np.uint64(3 * (j - 11) + 1)
        w1 |= (v[:, 21, :] & 1) << np.uint64(31)  # value 21: bit 31 of word 1 ...
        w2 |= v[:, 21, :] >> np.uint64(1)        # ... and bits 0-1 of word 2
        for j in range(22, 32):                  # values 22-31: word 2 from bit 2
            w2 |= v[:, j, :] << np.uint64(3 * (j - 22) + 2)
        words = np.stack([w0, w1, w2], axis=1).reshape(m // 32 * 3, x)
    else:
        raise ValueError(bits)
    return (words & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32)


def unpack_rows(words, bits, m):
    """Inverse of pack_rows: int32 [m*bits/32, X] -> int64 [m, X]."""
    w = words.view(np.uint32).astype(np.uint64)
    mask = np.uint64((1 << bits) - 1)
    if bits in (2, 4, 8):
        per = 32 // bits
        return np.stack([(w >> np.uint64(bits * j)) & mask for j in range(per)], axis=1).reshape(m, -1).astype(np.int64)
    w = w.reshape(m // 32, 3, -1)
    w0, w1, w2 = w[:, 0], w[:, 1], w[:, 2]
    vals = [(w0 >> np.uint64(3 * j)) & mask for j in range(10)]
    vals.append(((w0 >> np.uint64(30)) | (w1 << np.uint64(2))) & mask)
    vals += [(w1 >> np.uint64(3 * (j - 11) + 1)) & mask for j in range(11, 21)]
    vals.append(((w1 >> np.uint64(31)) | (w2 << np.uint64(1))) & mask)
    vals += [(w2 >> np.uint64(3 * (j - 22) + 2)) & mask for j in range(22, 32)]
    return np.stack(vals, axis=1).reshape(m, -1).astype(np.int64)


def pack_layer(codes, zeros, bits, fmt):
    """codes [N, K], zeros [G, N] -> qweight [K*b/32, N], qzeros [G, N*b/32]."""
    qweight = pack_rows(codes.T, bits)
    stored = (zeros - 1) % (1 << bits) if fmt == "gptq" else zeros
    qzeros = pack_rows(stored.T, bits).T.copy()
    assert (unpack_rows(qweight, bits, codes.shape[1]) == codes.T).all()
    assert (unpack_rows(qzeros.T.copy(), bits, zeros.shape[1]).T == stored).all()
    return qweight, qzeros


def random_layer(rng, rows, cols, bits, group, sym, act_order, zero_min=0):
    groups = 1 if group == -1 else -(-cols // group)
    g = cols if group == -1 else group
    codes = rng.integers(0, 1 << bits, size=(rows, cols)).astype(np.uint8)
    if sym:
        zeros = np.full((groups, rows), 1 << (bits - 1), dtype=np.int32)
    else:
        zeros = rng.integers(zero_min, 1 << bits, size=(groups, rows)).astype(np.int32)
    scales = (rng.uniform(0.5, 1.5, size=(groups, rows)) / (np.sqrt(cols) * (1 << (bits - 1)))).astype(np.float16)
    if act_order:
        perm = rng.permutation(cols)
        g_idx = np.empty(cols, dtype=np.int32)
        g_idx[perm] = np.arange(cols) // g
    else:
        g_idx = (np.arange(cols) // g).astype(np.int32)
    return codes, zeros, scales, g_idx


def dequantize(codes, zeros, scales, g_idx):
    """W [N, K] = s[g_idx[k], n] * (q[n, k] - z[g_idx[k], n]) in fp32."""
    s = scales.astype(np.float32)[g_idx].T
    z = zeros[g_idx].T.astype(np.float32)
    return s * (codes.astype(np.float32) - z)


# ---- part (a): packing cases ---------------------------------------------

def make_pack_cases():
    rng = np.random.default_rng(20240601)
    rows, cols = 32, 64
    cases, tensors = [], {}
    specs = [(b, sym, act, 16, "gptq" if sym else "gptq_v2", 0)
             for b in (2, 3, 4, 8) for sym in (True, False) for act in (False, True)]
    specs += [(4, True, False, -1, "gptq", 0), (4, False, True, 16, "gptq", 1)]
    for bits, sym, act, group, fmt, zero_min in specs:
        name = f"b{bits}_{'sym' if sym else 'asym'}_{'act' if act else 'seq'}_g{group}_{'v1' if fmt == 'gptq' else 'v2'}"
        codes, zeros, scales, g_idx = random_layer(rng, rows, cols, bits, group, sym, act, zero_min)
        qweight, qzeros = pack_layer(codes, zeros, bits, fmt)
        tensors.update({f"{name}.qweight": qweight, f"{name}.qzeros": qzeros, f"{name}.scales": scales,
                        f"{name}.g_idx": g_idx, f"{name}.codes": codes, f"{name}.zeros": zeros})
        cases.append(dict(name=name, bits=bits, group_size=group, sym=sym, act_order=act, checkpoint_format=fmt,
                          rows=rows, cols=cols))
    out = OUT / "pack"
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "cases.safetensors"), metadata={"format": "pt"})
    (out / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")
    print(f"pack: {len(cases)} cases in {out}")


# ---- part (b): tiny llama checkpoint and transformers logits -------------

LINEARS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def make_llama():
    rng = np.random.default_rng(77)
    config = json.loads((LLAMA / "config.json").read_text())
    source = load_file(str(LLAMA / "model.safetensors"))
    bits, group = 4, 32
    qc = {"quant_method": "gptq", "bits": bits, "group_size": group, "desc_act": True, "sym": False,
          "static_groups": False, "true_sequential": True, "damp_percent": 0.01, "checkpoint_format": "gptq_v2",
          "lm_head": False, "meta": {"quantizer": ["make_gptq_export_fixtures.py"]}}
    stored, weights = {}, {}
    for name, w in source.items():
        layer = name[: -len(".weight")]
        if name.endswith(".weight") and any(layer.endswith(l) for l in LINEARS):
            rows, cols = w.shape
            codes, zeros, scales, g_idx = random_layer(rng, rows, cols, bits, group, False, True)
            qweight, qzeros = pack_layer(codes, zeros, bits, "gptq_v2")
            stored.update({f"{layer}.qweight": qweight, f"{layer}.qzeros": qzeros, f"{layer}.scales": scales,
                           f"{layer}.g_idx": g_idx})
            weights[name] = dequantize(codes, zeros, scales, g_idx)
        else:
            stored[name] = w.astype(np.float16)
            weights[name] = stored[name].astype(np.float32)
    out = OUT / "llama"
    out.mkdir(parents=True, exist_ok=True)
    save_file(stored, str(out / "model.safetensors"), metadata={"format": "pt"})
    config["quantization_config"] = qc
    config["torch_dtype"] = "float16"
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "quantize_config.json").write_text(json.dumps(qc, indent=2) + "\n")

    model = transformers.LlamaForCausalLM.from_pretrained(LLAMA, dtype=torch.float32).eval()
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=False)
    assert not unexpected and all("rotary" in k for k in missing), (missing, unexpected)
    gen = torch.Generator().manual_seed(5)
    ids = [torch.randint(0, config["vocab_size"], (n,), generator=gen) for n in SEQ_LENS]
    with torch.no_grad():
        logits = torch.cat([model(input_ids=x[None]).logits[0] for x in ids])
    logits.numpy().astype("<f4").tofile(out / "logits.f32")
    (out / "expected.json").write_text(json.dumps({
        "seq_lens": SEQ_LENS, "input_ids": torch.cat(ids).tolist(), "vocab": config["vocab_size"],
        "logits": "logits.f32", "transformers_version": transformers.__version__}, indent=1) + "\n")
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"llama: {size / 1024:.0f} KiB in {out}")


def main():
    make_pack_cases()
    make_llama()


if __name__ == "__main__":
    main()
