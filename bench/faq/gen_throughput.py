#!/usr/bin/env python3
"""Batched generation throughput: `maca generate` next to transformers'
generate() on the same machine, same model file (GGUF dequantized to fp32 by
both), same prompt, batch and length (every sequence generates exactly
--new tokens: no EOS stop), sampling at temperature 0.6 / top-p 0.95 / top-k 20,
both on --threads CPU threads. Prints the command, the machine and one line
per engine with new tokens/s (prefill included), then the ratio.

  /path/to/venv/bin/python bench/faq/gen_throughput.py [--model qwen2.5-coder-1.5b] [--batch 8] [--new 128]

Needs torch, transformers, gguf and accelerate in the Python that runs it
(maca's build and the model from scripts/fetch_models.py).
"""
import argparse
import os
import pathlib
import platform
import re
import subprocess
import sys
import time

FILES = {"qwen2.5-coder-1.5b": "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf",
         "qwen2.5-coder-0.5b": "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf"}
PROMPT = ("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
          "<|im_start|>user\nExplain step by step how a hash table handles collisions, with a Python example."
          "<|im_end|>\n<|im_start|>assistant\n")


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--maca", default="build/src/maca")
    args = ap.parse_args()
    model_dir = pathlib.Path(os.environ.get("MACA_MODEL_DIR", pathlib.Path.home() / ".cache/maca/models"))
    print(f"# {' '.join(sys.argv)}")
    print(f"# {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {platform.node()} {cpu_name()} "
          f"nproc={os.cpu_count()} threads={args.threads}")

    cmd = [args.maca, "generate", "--model", args.model, "--set", "gen.template={prompt}", "--prompt", PROMPT,
           "--samples", str(args.batch), "--max-new-tokens", str(args.new), "--set", f"gen.batch={args.batch}",
           "--set", "gen.stop_at_eos=false", "--threads", str(args.threads), "--log-level", "warn"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    m = re.search(r"(\d+) prompt \+ (\d+) new tokens in ([\d.]+) s, ([\d.]+) new tokens/s", out)
    maca_rate = float(m.group(4))
    print(f"maca generate: batch {args.batch}, {m.group(1)} prompt + {m.group(2)} new tokens in {m.group(3)} s: "
          f"{maca_rate:.2f} new tokens/s")

    import torch
    import transformers
    torch.set_num_threads(args.threads)
    file = FILES[args.model]
    tok = transformers.AutoTokenizer.from_pretrained(model_dir, gguf_file=file)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, gguf_file=file, dtype=torch.float32).eval()
    ids = tok([PROMPT] * args.batch, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        t = time.perf_counter()
        gen = model.generate(**ids, max_new_tokens=args.new, min_new_tokens=args.new, do_sample=True,
                             temperature=0.6, top_p=0.95, top_k=20, pad_token_id=tok.eos_token_id)
        s = time.perf_counter() - t
    new = (gen.shape[1] - ids.input_ids.shape[1]) * args.batch
    hf_rate = new / s
    print(f"transformers {transformers.__version__} / torch {torch.__version__} generate: batch {args.batch}, "
          f"{ids.input_ids.numel()} prompt + {new} new tokens in {s:.2f} s: {hf_rate:.2f} new tokens/s")
    print(f"ratio maca / transformers: {maca_rate / hf_rate:.2f}")


if __name__ == "__main__":
    main()
