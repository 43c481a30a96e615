#!/usr/bin/env python3
"""Fixtures for maca's HF tokenizer writer (src/tokenizer/hf_tokenizer_writer.h),
with HF `tokenizers` and transformers as the independent check.

Step 1 (gguf-py) writes GGUF files with small but real tokenizers, stored the
way llama.cpp's converter stores them, from the tiny tokenizers trained in
tests/fixtures/tokenizer (make_tokenizer_fixtures.py):
  tests/fixtures/gguf/tiny_llama_bpe.gguf    a 2-block llama (random weights,
        hidden 64, 904 tokens) with a SmolLM2-style tokenizer: byte-level BPE,
        pre "smollm", control and user-defined tokens, chat template. The end-to-end
        test of `maca quantize` on a bare GGUF (tests/pipeline/test_bare_gguf.cpp)
        quantizes it.
  tests/fixtures/gguf/tokenizer_<name>.gguf  tokenizer metadata only:
        qwen2       byte-level BPE, pre "qwen2", end-of-turn token
        llama3      byte-level BPE, pre "llama-bpe", add_bos_token
        spm_llama   SentencePiece BPE (model "llama"), byte fallback, unk, no
                    merges (maca derives them from the scores), space prefix
        spm_gemma3  the same vocabulary as gemma3 (no merges: vocabulary order;
                    whitespace tokens stored with real spaces)
Step 2 runs maca's writer (the write_hf_tokenizer test tool) on each of these
and on the real models that are present (SmolLM2-135M, gemma-3-270m,
Qwen2.5-Coder-0.5B; scripts/fetch_models.py), loads the written tokenizer.json
with HF `tokenizers` and the written directory with transformers'
AutoTokenizer, encodes tests/fixtures/tokenizer/texts.json with and without
special tokens, and compares with the ids maca's GGUF tokenizer gives (and
decodes). It writes HF's ids and decodes as
tests/fixtures/tokenizer/written_<name>.expected.json (the format of
make_tokenizer_fixtures.py), which tests/tokenizer/test_hf_tokenizer_writer.cpp
compares maca's GGUF tokenizer with, and exits with 1 on any difference.

usage: python3 tests/scripts/make_hf_tokenizer_fixtures.py [--tool PATH] [--no-gguf]
  --tool     the built write_hf_tokenizer (default build/tests/tokenizer/write_hf_tokenizer)
  --no-gguf  keep the committed GGUF fixtures (step 2 only)
needs: pip install gguf numpy tokenizers transformers jinja2 (tested with
tokenizers 0.22/0.23, transformers 4.57 and 5.x). Output is deterministic.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GGUF_DIR = ROOT / "tests/fixtures/gguf"
TOK_DIR = ROOT / "tests/fixtures/tokenizer"
MODEL_DIR = Path(os.environ.get("MACA_MODEL_DIR", Path.home() / ".cache/maca/models"))
REAL_MODELS = {"smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf", "gemma3": "gemma-3-270m-q4_k_m.gguf",
               "qwen2_5_coder": "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf"}
TINY = {"tiny_llama_bpe": GGUF_DIR / "tiny_llama_bpe.gguf",
        **{n: GGUF_DIR / f"tokenizer_{n}.gguf" for n in ("qwen2", "llama3", "spm_llama", "spm_gemma3")}}
CHATML = ("{% for message in messages %}{{'<|begin_of_text|>' + message['role'] + '\n' + message['content'] + "
          "'<|end_of_text|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|begin_of_text|>assistant\n' }}"
          "{% endif %}")
# GGUF token types (gguf.TokenType)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, BYTE = 1, 2, 3, 4, 6


def tokenizer_json(name):
    return json.loads((TOK_DIR / f"{name}.tokenizer.json").read_text(encoding="utf-8"))


def vocabulary(tj):
    """Tokens by id (vocabulary and added tokens) and their GGUF types, as llama.cpp's converter sets them:
    special added tokens are control tokens, the other added tokens user-defined."""
    by_id = {i: t for t, i in tj["model"]["vocab"].items()}
    types = {i: NORMAL for i in by_id}
    for a in tj["added_tokens"]:
        by_id[a["id"]] = a["content"]
        types[a["id"]] = CONTROL if a["special"] else USER_DEFINED
    n = max(by_id) + 1
    assert sorted(by_id) == list(range(n)), "ids must be contiguous"
    return [by_id[i] for i in range(n)], [types[i] for i in range(n)]


def add_byte_level(w, pre, bos, eos, add_bos, extra=None):
    tj = tokenizer_json("tiny_bytelevel_llama3")  # the three tiny byte-level tokenizers share vocabulary and merges
    tokens, types = vocabulary(tj)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([" ".join(m) if isinstance(m, list) else m for m in tj["model"]["merges"]])
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)
    w.add_add_bos_token(add_bos)
    for key, value in (extra or {}).items():
        getattr(w, f"add_{key}")(value)
    return len(tokens)


def add_spm(w, gemma):
    tj = tokenizer_json("tiny_spm")
    tokens, types = vocabulary(tj)
    types = [BYTE if t.startswith("<0x") and len(t) == 6 else UNKNOWN if t == "<unk>" else ty
             for t, ty in zip(tokens, types)]
    if gemma:  # Gemma stores whitespace-only tokens with real spaces
        tokens += ["  ", "   "]
        types += [NORMAL, NORMAL]
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_scores([float(-i) for i in range(len(tokens))])
    w.add_unk_token_id(0)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(not gemma)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tiny_llama_bpe(path):
    import numpy as np
    import gguf
    from gguf.quants import quantize
    hidden, ffn, heads, kv_heads, layers = 64, 128, 4, 2, 2
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_block_count(layers)
    w.add_context_length(2048)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(hidden // heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    vocab = add_byte_level(w, "smollm", 0, 1, False, {"pad_token_id": 1, "chat_template": CHATML})
    w.add_vocab_size(vocab)
    rng = np.random.default_rng(20240531)

    def add(name, shape, kind):
        x = (rng.standard_normal(shape) * 0.02).astype(np.float32) if kind != "norm" else np.ones(shape, np.float32)
        if kind == "q8_0":
            w.add_tensor(name, quantize(x, gguf.GGMLQuantizationType.Q8_0), raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, x.astype(np.float16) if kind == "f16" else x)

    add("token_embd.weight", (vocab, hidden), "f16")
    add("output_norm.weight", (hidden,), "norm")
    hd = hidden // heads
    for i in range(layers):
        add(f"blk.{i}.attn_norm.weight", (hidden,), "norm")
        add(f"blk.{i}.attn_q.weight", (heads * hd, hidden), "q8_0")
        add(f"blk.{i}.attn_k.weight", (kv_heads * hd, hidden), "q8_0")
        add(f"blk.{i}.attn_v.weight", (kv_heads * hd, hidden), "q8_0")
        add(f"blk.{i}.attn_output.weight", (hidden, heads * hd), "q8_0")
        add(f"blk.{i}.ffn_norm.weight", (hidden,), "norm")
        add(f"blk.{i}.ffn_gate.weight", (ffn, hidden), "f16")
        add(f"blk.{i}.ffn_up.weight", (ffn, hidden), "f16")
        add(f"blk.{i}.ffn_down.weight", (hidden, ffn), "f16")
    finish(w)


def write_ggufs():
    import gguf
    tiny_llama_bpe(TINY["tiny_llama_bpe"])
    w = gguf.GGUFWriter(str(TINY["qwen2"]), "qwen2")
    add_byte_level(w, "qwen2", 1, 1, False, {"eot_token_id": 0, "pad_token_id": 1, "chat_template": CHATML})
    finish(w)
    w = gguf.GGUFWriter(str(TINY["llama3"]), "llama")
    add_byte_level(w, "llama-bpe", 0, 1, True, {"context_length": 8192})
    finish(w)
    for name, gemma in (("spm_llama", False), ("spm_gemma3", True)):
        w = gguf.GGUFWriter(str(TINY[name]), "gemma3" if gemma else "llama")
        add_spm(w, gemma)
        finish(w)
    for path in TINY.values():
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")


def first_difference(a, b):
    k = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return f"position {k}: HF {a[max(0, k - 2):k + 3]} maca {b[max(0, k - 2):k + 3]}"


def model_type(gguf_path):
    """The model_type of the config.json maca's export writes for this GGUF (src/io/gguf_model.cpp)."""
    from gguf import GGUFReader
    arch = GGUFReader(gguf_path).fields["general.architecture"].contents()
    return {"gemma3": "gemma3_text"}.get(arch, arch)


def check(name, gguf_path, tool, texts):
    """Runs maca's writer on `gguf_path`, checks HF against maca, writes the fixture. Returns the failures.

    AutoTokenizer is checked twice: on the tokenizer files alone (the class
    tokenizer_config.json names: tokenizer.json as written), and with a
    config.json as in an exported directory, where transformers may pick the
    model's own tokenizer class instead (transformers >= 5 forces Qwen2Tokenizer
    for qwen2, which NFC-normalizes the input). A difference there is accepted
    only when NFC normalization explains it exactly: maca, like llama.cpp, does
    not normalize a GGUF's input."""
    import unicodedata
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer
    with tempfile.TemporaryDirectory() as out:
        texts_file = Path(out) / "texts.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        hf_dir, model_dir = Path(out) / "hf", Path(out) / "model"
        subprocess.run([str(tool), str(gguf_path), str(hf_dir), str(texts_file)], check=True)
        maca = json.loads((hf_dir / "maca_ids.json").read_text(encoding="utf-8"))
        (hf_dir / "maca_ids.json").unlink()
        shutil.copytree(hf_dir, model_dir)
        (model_dir / "config.json").write_text(json.dumps({"model_type": model_type(gguf_path)}))
        tok = Tokenizer.from_file(str(hf_dir / "tokenizer.json"))
        auto = AutoTokenizer.from_pretrained(str(hf_dir))
        auto_model = AutoTokenizer.from_pretrained(str(model_dir))
        config = json.loads((hf_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
        if "chat_template" in config:  # the template renders with the written special tokens
            auto.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
        failures, nfc_only, ids_compared, cases = [], set(), 0, []
        for case, text in texts.items():
            ids = tok.encode(text, add_special_tokens=False).ids
            ids_special = tok.encode(text, add_special_tokens=True).ids
            for what, got, special in (("ids", ids, False), ("ids_special", ids_special, True)):
                if got != maca[case][what]:
                    failures.append(f"{name}/{case} {what}: tokenizers vs maca differ at "
                                    f"{first_difference(got, maca[case][what])}")
                auto_ids = auto(text, add_special_tokens=special)["input_ids"]
                if auto_ids != got:
                    failures.append(f"{name}/{case} {what}: AutoTokenizer vs tokenizers differ at "
                                    f"{first_difference(auto_ids, got)}")
                model_ids = auto_model(text, add_special_tokens=special)["input_ids"]
                if model_ids != got:
                    nfc = unicodedata.normalize("NFC", text)
                    if nfc != text and model_ids == tok.encode(nfc, add_special_tokens=special).ids:
                        nfc_only.add(case)
                    else:
                        failures.append(f"{name}/{case} {what}: AutoTokenizer with config.json "
                                        f"({type(auto_model).__name__}) vs tokenizers differ at "
                                        f"{first_difference(model_ids, got)}")
                ids_compared += len(got)
            decoded = tok.decode(ids, skip_special_tokens=False)
            decoded_skip = tok.decode(ids_special, skip_special_tokens=True)
            cases.append({"name": case, "ids": ids, "ids_special": ids_special,
                          "decoded": None if decoded == text else decoded,
                          "decoded_skip": None if decoded_skip == text else decoded_skip})
    doc = {"tokenizer": f"maca's tokenizer.json for {gguf_path.name}, encoded by HF tokenizers", "cases": cases}
    path = TOK_DIR / f"written_{name}.expected.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{name}: {len(texts)} texts, {ids_compared} ids from HF tokenizers and AutoTokenizer "
          f"({type(auto).__name__}; with config.json {type(auto_model).__name__}), "
          f"{'all equal to maca' if not failures else f'{len(failures)} DIFFERENCES'} -> {path.relative_to(ROOT)}")
    if nfc_only:
        print(f"  note: with config.json, {type(auto_model).__name__} NFC-normalizes the input: "
              f"{', '.join(sorted(nfc_only))} tokenize{'s' if len(nfc_only) == 1 else ''} as their NFC form")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", type=Path, default=ROOT / "build/tests/tokenizer/write_hf_tokenizer")
    ap.add_argument("--no-gguf", action="store_true", help="keep the committed GGUF fixtures")
    args = ap.parse_args()
    if not args.no_gguf:
        write_ggufs()
    if not args.tool.exists():
        raise SystemExit(f"error: {args.tool} is absent; build it: cmake --build build --target write_hf_tokenizer")
    import tokenizers
    import transformers
    print(f"HF tokenizers {tokenizers.__version__}, transformers {transformers.__version__}")
    texts = json.loads((TOK_DIR / "texts.json").read_text(encoding="utf-8"))
    failures = []
    for name, path in TINY.items():
        failures += check(name, path, args.tool, texts)
    for name, file in REAL_MODELS.items():
        if not (MODEL_DIR / file).exists():
            print(f"skipping {name}: {MODEL_DIR / file} is absent (python3 scripts/fetch_models.py)", file=sys.stderr)
            continue
        failures += check(name, MODEL_DIR / file, args.tool, texts)
    for f in failures:
        print(f"DIFFERENCE {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
