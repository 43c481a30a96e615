#!/usr/bin/env python3
"""Independent WikiText-2 perplexity of a GGUF model with PyTorch + transformers.

transformers dequantizes the GGUF weights to fp32 and builds the HF model and
tokenizer from the file; the text is prepared as in the GPTQ literature
("\\n\\n".join of the HF wikitext rows, one token stream, non-overlapping
windows of --ctx tokens, remainder dropped, PPL = exp(mean NLL)). The number
is compared with `maca eval` on the same windows in docs/results.md.

usage: tests/scripts/crosscheck_ppl.py MODEL.gguf [--data wiki.test.raw] [--ctx 2048] [--max-windows N]
needs: pip install torch transformers gguf
"""
import argparse
import math
import os
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def wikitext_stream(path: Path) -> str:
    rows = [line if line.strip() else "" for line in path.read_text(encoding="utf-8").splitlines(keepends=True)]
    return "\n\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gguf", type=Path)
    ap.add_argument("--data", type=Path,
                    default=Path(__file__).resolve().parents[3] / "shared/data/wikitext-2-raw/wiki.test.raw")
    ap.add_argument("--ctx", type=int, default=2048)
    ap.add_argument("--max-windows", type=int, default=0)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    d, f = str(args.gguf.parent), args.gguf.name
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    # transformers converts SmolLM2's "smollm" pre-tokenizer to the plain GPT-2
    # split; the original tokenizer (and maca) split digits one by one. The
    # tokenizer fixture script saves the corrected tokenizer.json beside the
    # GGUF: use it when present so both sides see the same token stream.
    fixed = args.gguf.with_suffix(".tokenizer.json")
    if fixed.exists():
        from transformers import PreTrainedTokenizerFast
        tok = PreTrainedTokenizerFast(tokenizer_file=str(fixed), bos_token=tok.bos_token, eos_token=tok.eos_token,
                                      add_bos_token=getattr(tok, "add_bos_token", False))
        print(f"tokenizer: {fixed}")
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
    model.eval()
    ids = tok(wikitext_stream(args.data), return_tensors="pt").input_ids[0]
    n = ids.numel() // args.ctx
    if args.max_windows:
        n = min(n, args.max_windows)
    t0 = time.time()
    nll_sum, count = 0.0, 0
    with torch.no_grad():
        for i in range(n):
            w = ids[i * args.ctx:(i + 1) * args.ctx].unsqueeze(0)
            logits = model(w).logits[0, :-1].double()
            nll = torch.nn.functional.cross_entropy(logits, w[0, 1:], reduction="sum")
            nll_sum += nll.item()
            count += args.ctx - 1
            print(f"window {i + 1}/{n}: running PPL {math.exp(nll_sum / count):.4f}", flush=True)
    print(f"model {args.gguf.name} stream_tokens {ids.numel()} windows {n} ctx {args.ctx} "
          f"PPL {math.exp(nll_sum / count):.4f} ({time.time() - t0:.0f} s, torch {torch.__version__})")


if __name__ == "__main__":
    main()
