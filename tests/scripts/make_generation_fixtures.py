#!/usr/bin/env python3
"""Greedy-generation fixtures: what transformers' generate() produces, token
for token, so tests/gen can check maca's KV-cached generation against it.

  tiny (default): for each tiny random model of tests/fixtures/model/<arch>
  (made by make_model_fixtures.py), two prompts of random ids, 24 new tokens
  greedily (do_sample=False, no EOS stop), written to
  tests/fixtures/model/<arch>/generate.json with, per step, the margin
  between the best and second-best logit (a tiny margin would make a
  token-for-token comparison fragile; the test reports the smallest).

  --real: the real GGUF models (dequantized to fp32 by transformers) from
  $MACA_MODEL_DIR or ~/.cache/maca/models, 32 greedy tokens from a short chat
  prompt, written to tests/fixtures/model/real_generate.json.

Requires torch and transformers (tested with transformers 5.x, torch 2.x CPU)
and, for --real, gguf. Regenerate with
  python3 tests/scripts/make_generation_fixtures.py [--real]
"""
import argparse
import json
import os
import pathlib

import torch
import transformers

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "model"
ARCHS = ["llama", "qwen2", "qwen3", "gemma3"]
PROMPT_LENS = [5, 11]
NEW_TOKENS = 24


def greedy(model, ids, new_tokens):
    with torch.no_grad():
        out = model.generate(input_ids=ids[None], max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                             do_sample=False, output_scores=True, return_dict_in_generate=True,
                             eos_token_id=None, pad_token_id=0)
    tokens = out.sequences[0, ids.numel():].tolist()
    margins = []
    for s in out.scores:
        top = torch.topk(s[0].float(), 2).values
        margins.append(float(top[0] - top[1]))
    return tokens, margins


def make_tiny(arch, seed):
    d = FIXTURES / arch
    model = transformers.AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    model.generation_config.eos_token_id = None
    gen = torch.Generator().manual_seed(seed)
    cases = []
    for n in PROMPT_LENS:
        ids = torch.randint(0, model.config.vocab_size, (n,), generator=gen)
        tokens, margins = greedy(model, ids, NEW_TOKENS)
        cases.append({"prompt": ids.tolist(), "new_tokens": tokens, "min_margin": min(margins)})
        print(f"{arch}: prompt {n} -> {tokens[:8]}... min margin {min(margins):.3g}")
    (d / "generate.json").write_text(json.dumps({
        "cases": cases, "_generated_by": f"tests/scripts/make_generation_fixtures.py, transformers {transformers.__version__}"},
        indent=1) + "\n")


REAL = {
    "SmolLM2-135M-Instruct.Q4_1.gguf": "Write a short poem about the sea.",
    "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf": "Write a Python function that reverses a string.",
}


def make_real():
    model_dir = pathlib.Path(os.environ.get("MACA_MODEL_DIR", pathlib.Path.home() / ".cache" / "maca" / "models"))
    result = {}
    for file, question in REAL.items():
        if not (model_dir / file).exists():
            raise SystemExit(f"{model_dir / file} is missing: run python3 scripts/fetch_models.py --all")
        tok = transformers.AutoTokenizer.from_pretrained(model_dir, gguf_file=file)
        model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=file,
                                                                  dtype=torch.float32).eval()
        text = tok.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                       add_generation_prompt=True)
        ids = torch.tensor(tok(text, add_special_tokens=False).input_ids)
        tokens, margins = greedy(model, ids, 32)
        print(f"{file}: {tok.decode(tokens)!r} (min margin {min(margins):.3g})")
        result[file] = {"prompt_text": text, "prompt": ids.tolist(), "new_tokens": tokens, "margins": margins}
    result["_generated_by"] = f"tests/scripts/make_generation_fixtures.py --real, transformers {transformers.__version__}"
    (FIXTURES / "real_generate.json").write_text(json.dumps(result, indent=1) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", action="store_true", help="also record greedy outputs of the real GGUF models")
    args = parser.parse_args()
    for i, arch in enumerate(ARCHS):
        make_tiny(arch, seed=2000 + i)
    if args.real:
        make_real()


if __name__ == "__main__":
    main()
