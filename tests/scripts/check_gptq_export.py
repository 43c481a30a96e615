#!/usr/bin/env python3
"""Loads a maca GPTQ export with an independent loader and checks it against
the fake-quant export of the same run, in transformers.

The GPTQ checkpoint (RUN_DIR/gptq) is unpacked by the numpy packer of
make_gptq_export_fixtures.py (written from formats.md, not from maca's C++),
v1 zeros get their +1, the dequantized weights go into a transformers model
built from the checkpoint's config; the fake-quant model (RUN_DIR/fake_quant)
loads with from_pretrained. Both run the same token ids; the script prints
the largest logit difference and exits 1 when it exceeds --tol.

Run it on a run exported with `--set export.dtype=float32` for an exact
comparison (the default float16 export rounds the non-quantized tensors).

    python3 tests/scripts/check_gptq_export.py RUN_DIR [--tol 1e-4]
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import torch
import transformers
from safetensors.numpy import load_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_gptq_export_fixtures import dequantize, unpack_rows  # noqa: E402


def gptq_state_dict(gptq_dir):
    qcfg = json.loads((gptq_dir / "quantize_config.json").read_text())
    bits, v1 = qcfg["bits"], qcfg["checkpoint_format"] == "gptq"
    tensors = load_file(str(gptq_dir / "model.safetensors"))
    state, layers = {}, 0
    for name, t in tensors.items():
        if name.endswith(".qweight"):
            p = name[: -len(".qweight")]
            n = t.shape[1]
            k = t.shape[0] * 32 // bits
            codes = unpack_rows(t, bits, k).T  # [N, K]
            groups = tensors[p + ".scales"].shape[0]
            zeros = unpack_rows(tensors[p + ".qzeros"].T.copy(), bits, n).T  # [G, N]
            if v1:
                zeros = (zeros + 1) % (1 << bits)
            w = dequantize(codes, zeros, tensors[p + ".scales"], tensors[p + ".g_idx"])
            assert w.shape == (n, k) and zeros.shape[0] == groups
            state[p + ".weight"] = torch.from_numpy(w)
            layers += 1
        elif not name.endswith((".qzeros", ".scales", ".g_idx")):
            state[name] = torch.from_numpy(t.astype(np.float32))
    return state, layers


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=pathlib.Path)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--tokens", type=int, default=64)
    a = ap.parse_args()
    gptq_dir, fq_dir = a.run_dir / "gptq", a.run_dir / "fake_quant"

    cfg = transformers.AutoConfig.from_pretrained(gptq_dir)
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    model = transformers.AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.float32)
    state, layers = gptq_state_dict(gptq_dir)
    if cfg.tie_word_embeddings and "lm_head.weight" not in state:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if "rotary" not in m]
    assert not missing and not unexpected, (missing, unexpected)
    ref = transformers.AutoModelForCausalLM.from_pretrained(fq_dir, torch_dtype=torch.float32)

    ids = torch.from_numpy(np.random.default_rng(0).integers(0, cfg.vocab_size, size=(1, a.tokens)))
    with torch.no_grad():
        got = model(ids).logits
        want = ref(ids).logits
    err = (got - want).abs().max().item()
    scale = want.abs().max().item()
    print(f"{a.run_dir}: {layers} GPTQ layers unpacked independently; max |logit difference| vs fake_quant "
          f"= {err:.3g} (max |logit| {scale:.3g}) over {a.tokens} tokens")
    sys.exit(0 if err <= a.tol else 1)


if __name__ == "__main__":
    main()
