#!/usr/bin/env python3
"""The peer side of bench/peer/run.sh: llm-compressor's GPTQ on the same model
and the same calibration token ids as maca (issue 13, item 5).

  peer.py prepare GGUF OUT_DIR --samples N --seq-len L --seed S
      writes OUT_DIR/hf-fp32 (the GGUF dequantized to float32 by transformers,
      as a Hugging Face directory with its tokenizer) and
      OUT_DIR/calib-set.json (N windows of L tokens of the C4 sample in maca's
      calibration-set format, docs/formats/calib-set.md), which both tools
      calibrate on.
  peer.py quantize OUT_DIR --bits B --group G --sym --damp D
      llm-compressor's oneshot GPTQModifier (no act-order, block 128) on
      hf-fp32 with those ids; writes OUT_DIR/llmc-fake-quant, the dequantized
      weights as a plain Hugging Face directory that `maca eval` loads.

Only what the bench needs: run it through run.sh, which times each step.
"""
import argparse
import json
import pathlib
import random
import shutil
import sys

DATA = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "data"


def save_dense(model, tok, path, names):
    """The model's tensors named in `names`, as float32, with its config (no
    quantization entry) and tokenizer: a plain Hugging Face directory."""
    import torch
    from safetensors.torch import save_file

    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    state = {k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items() if k in names}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    save_file(state, str(path / "model.safetensors"), metadata={"format": "pt"})
    cfg = model.config.to_dict()
    cfg.pop("quantization_config", None)
    cfg["torch_dtype"] = "float32"
    (path / "config.json").write_text(json.dumps(cfg, indent=2))
    tok.save_pretrained(path)


def prepare(args):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = pathlib.Path(args.gguf)
    out = pathlib.Path(args.out)
    hf = out / "hf-fp32"
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if not (hf / "config.json").exists():
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        save_dense(model, tok, hf, set(model.state_dict().keys()))
    # N windows of L tokens at seeded offsets into the tokenized C4 sample
    # (documents joined by the EOS token), the same ids for both tools.
    c4 = DATA / "c4-sample" / "c4-en-train.00000-of-01024.first1000.jsonl"
    ids = []
    with open(c4, encoding="utf-8") as f:
        for line in f:
            ids += tok(json.loads(line)["text"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    rng = random.Random(args.seed)
    samples = []
    for _ in range(args.samples):
        start = rng.randrange(0, len(ids) - args.seq_len)
        samples.append({"tokens": ids[start:start + args.seq_len], "weight": 1.0})
    doc = {"format": "maca-calib-set", "version": 1, "vocab": len(tok), "seq_len": args.seq_len,
           "samples": samples, "groups": [],
           "provenance": {"tool": "bench/peer/peer.py", "source": str(c4), "seed": args.seed}}
    (out / "calib-set.json").write_text(json.dumps(doc))
    print(f"prepare: {hf}, {args.samples} x {args.seq_len} calibration ids from {len(ids)} C4 tokens")


def quantize(args):
    import torch
    from datasets import Dataset
    from llmcompressor import oneshot
    from llmcompressor.modifiers.quantization import GPTQModifier
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = pathlib.Path(args.out)
    hf = out / "hf-fp32"
    torch.set_num_threads(args.threads)
    model = AutoModelForCausalLM.from_pretrained(hf, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(hf)
    names = set(model.state_dict().keys())
    calib = json.loads((out / "calib-set.json").read_text())
    rows = [{"input_ids": s["tokens"], "attention_mask": [1] * len(s["tokens"])} for s in calib["samples"]]
    ds = Dataset.from_list(rows)
    scheme = {"targets": ["Linear"],
              "weights": {"num_bits": args.bits, "type": "int", "symmetric": args.sym, "strategy": "group",
                          "group_size": args.group}}
    recipe = GPTQModifier(config_groups={"group_0": scheme}, ignore=["lm_head"], actorder=None, block_size=128,
                          dampening_frac=args.damp)
    oneshot(model=model, dataset=ds, recipe=recipe, max_seq_length=calib["seq_len"],
            num_calibration_samples=len(rows))
    # The weights as they now are (quantized and dequantized in place), under
    # their original names only: a dense model any loader reads.
    fq = out / "llmc-fake-quant"
    save_dense(model, tok, fq, names)
    print(f"quantize: llm-compressor GPTQ W{args.bits} g{args.group} sym={args.sym} -> {fq}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("gguf")
    a.add_argument("out")
    a.add_argument("--samples", type=int, default=16)
    a.add_argument("--seq-len", type=int, default=2048)
    a.add_argument("--seed", type=int, default=0)
    q = sub.add_parser("quantize")
    q.add_argument("out")
    q.add_argument("--bits", type=int, default=4)
    q.add_argument("--group", type=int, default=64)
    q.add_argument("--sym", action="store_true")
    q.add_argument("--damp", type=float, default=0.01)
    q.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    {"prepare": prepare, "quantize": quantize}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
