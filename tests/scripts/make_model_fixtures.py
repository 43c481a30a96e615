#!/usr/bin/env python3
"""Builds the model parity fixtures under tests/fixtures/model/ with transformers.

Two parts:

  tiny (default): for each architecture (llama, qwen2, qwen3, gemma3) a tiny
  random-weight model (hidden 64, 4 heads, 2 kv heads, head_dim 16, vocab 256,
  intermediate 128) is built from a config that exercises the arch's features
  (llama3 rope scaling; qwen2 qkv bias and tied embeddings; qwen3 q/k norm;
  gemma3 sliding/full layers with a window of 4, linear rope scaling on the
  full layers, query_pre_attn_scalar, (1+w) norms and sandwich norms). Weights
  are drawn with a fixed seed at unit-ish scale (not the tiny HF init) so the
  logits are far from uniform. Each goes to tests/fixtures/model/<arch>/:
    config.json, model.safetensors   (save_pretrained, fp32)
    expected.json                    {"seq_lens": [7, 13], "input_ids": [...],
                                      "vocab": V, "logits": "logits.f32"}
    logits.f32                       raw little-endian fp32 [sum(seq_lens), V],
                                     each sequence run on its own (batch 1)

  --real: loads the real GGUF models with transformers (dequantized to fp32)
  from $MACA_MODEL_DIR or ~/.cache/maca/models (fetch them with
  `python3 scripts/fetch_models.py --all`), runs a few short prompts given as
  token ids and writes tests/fixtures/model/real_next_tokens.json with, per
  model and prompt, the top-1 next-token id and the top-5 ids and logits at
  the last position.

Requires torch and transformers (tested with transformers 5.23, torch 2.15
CPU) and, for --real, the gguf package. Regenerate with
  python3 tests/scripts/make_model_fixtures.py [--real]
"""
import argparse
import json
import math
import os
import pathlib

import torch
import transformers

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "model"
SEQ_LENS = [7, 13]

COMMON = dict(hidden_size=64, num_attention_heads=4, num_key_value_heads=2, head_dim=16, intermediate_size=128,
              vocab_size=256, rms_norm_eps=1e-6, max_position_embeddings=256)

TINY = {
    "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM,
              dict(num_hidden_layers=2, tie_word_embeddings=False,
                   rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
                   rope_theta=10000.0)),
    "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM,
              dict(num_hidden_layers=2, tie_word_embeddings=True, rope_theta=1000000.0)),
    "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM,
              dict(num_hidden_layers=2, tie_word_embeddings=False, rope_theta=1000000.0)),
    "gemma3": (transformers.Gemma3TextConfig, transformers.Gemma3ForCausalLM,
               dict(num_hidden_layers=4, sliding_window=4, query_pre_attn_scalar=24,
                    layer_types=["sliding_attention", "full_attention", "sliding_attention", "full_attention"],
                    rope_scaling={"rope_type": "linear", "factor": 2.0}, rope_theta=1000000.0,
                    rope_local_base_freq=10000.0, tie_word_embeddings=True)),
}


def randomize(model, arch, seed):
    """Unit-scale random weights: linears ~ N(0, 1/fan_in), norms around their identity."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 2:
                std = 1.0 if "embed_tokens" in name else 1.0 / math.sqrt(p.shape[1])
                p.copy_(torch.randn(p.shape, generator=gen) * std)
            elif "norm" in name:
                base = 0.0 if arch == "gemma3" else 1.0
                p.copy_(base + 0.2 * torch.randn(p.shape, generator=gen))
            else:  # biases
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def make_tiny(arch, seed):
    config_cls, model_cls, extra = TINY[arch]
    config = config_cls(**COMMON, **extra)
    torch.manual_seed(seed)
    model = model_cls(config).to(torch.float32).eval()
    randomize(model, arch, seed)
    out = OUT / arch
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    gen = torch.Generator().manual_seed(seed + 1)
    ids = [torch.randint(0, config.vocab_size, (n,), generator=gen) for n in SEQ_LENS]
    with torch.no_grad():
        logits = torch.cat([model(input_ids=x[None]).logits[0] for x in ids])
    logits.numpy().astype("<f4").tofile(out / "logits.f32")
    (out / "expected.json").write_text(json.dumps({
        "seq_lens": SEQ_LENS,
        "input_ids": torch.cat(ids).tolist(),
        "vocab": config.vocab_size,
        "logits": "logits.f32",
        "transformers_version": transformers.__version__,
    }, indent=1) + "\n")
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{arch}: {size / 1024:.0f} KiB in {out}")


REAL = {
    "SmolLM2-135M-Instruct.Q4_1.gguf": ["The capital of France is", "def fibonacci(n):",
                                        "Once upon a time, there was a", "1, 2, 3, 4,"],
    "gemma-3-270m-q4_k_m.gguf": ["The capital of France is", "def fibonacci(n):",
                                 "Once upon a time, there was a", "1, 2, 3, 4,"],
}


def make_real():
    model_dir = pathlib.Path(os.environ.get("MACA_MODEL_DIR", pathlib.Path.home() / ".cache" / "maca" / "models"))
    result = {}
    for file, prompts in REAL.items():
        if not (model_dir / file).exists():
            raise SystemExit(f"{model_dir / file} is missing: run python3 scripts/fetch_models.py --all")
        tok = transformers.AutoTokenizer.from_pretrained(model_dir, gguf_file=file)
        model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=file,
                                                                  dtype=torch.float32).eval()
        entries = []
        for prompt in prompts:
            ids = tok(prompt, return_tensors="pt").input_ids
            with torch.no_grad():
                last = model(input_ids=ids).logits[0, -1]
            top = torch.topk(last, 5)
            entries.append({"prompt": prompt, "input_ids": ids[0].tolist(), "next_token": int(top.indices[0]),
                            "top_ids": top.indices.tolist(), "top_logits": top.values.tolist()})
            print(f"{file}: {prompt!r} -> {tok.decode([int(top.indices[0])])!r}")
        result[file] = entries
    result["_generated_by"] = f"tests/scripts/make_model_fixtures.py --real, transformers {transformers.__version__}"
    (OUT / "real_next_tokens.json").write_text(json.dumps(result, indent=1) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", action="store_true", help="also record next tokens of the real GGUF models")
    args = parser.parse_args()
    for i, arch in enumerate(TINY):
        make_tiny(arch, seed=1000 + i)
    if args.real:
        make_real()


if __name__ == "__main__":
    main()
