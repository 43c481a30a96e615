#!/usr/bin/env python3
"""Generate the tokenizer test fixtures in tests/fixtures/tokenizer/ with HF
`tokenizers` as the oracle (tests/tokenizer/*.cpp compare maca against them).

Outputs (all committed):
  texts.json                  the inputs: Unicode edge cases and the first
                              >=50 kB of WikiText-2 raw test
  tiny_*.tokenizer.json       small tokenizers trained here on WikiText-2
                              valid: byte-level BPE with the LLaMA-3, Qwen2 and
                              GPT-2+Digits splits, SentencePiece-style BPE with
                              byte fallback (Prepend/Replace and Metaspace)
  <name>.expected.json        per tokenizer and text: ids without and with
                              special tokens, and HF's decode of both (the
                              second with skip_special_tokens; null where it
                              equals the input text)

Real vocabularies (SmolLM2-135M, gemma-3-270m) exist only as GGUF files in
$MACA_MODEL_DIR or ~/.cache/maca/models (`python3 scripts/fetch_models.py --all`).
transformers converts each GGUF to an HF fast tokenizer; its tokenizer.json is
written next to the model as <gguf stem>.tokenizer.json (too big to commit) and
is the oracle. The one change made to it: for `tokenizer.ggml.pre` "smollm"
transformers uses the plain GPT-2 split, while the original SmolLM2 tokenizer
(and llama.cpp) split digits individually first; the pre-tokenizer is set to
that, which is also what maca builds from the GGUF. Models that are absent
are skipped with a message.

usage: python3 tests/scripts/make_tokenizer_fixtures.py
"""
import json
import os
import sys
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fixtures/tokenizer"
DATA = Path(os.environ.get("MACA_DATA_DIR", ROOT.parent / "shared/data")) / "wikitext-2-raw"
MODEL_DIR = Path(os.environ.get("MACA_MODEL_DIR", Path.home() / ".cache/maca/models"))
REAL_MODELS = {"smollm2": "SmolLM2-135M-Instruct.Q4_1.gguf", "gemma3": "gemma-3-270m-q4_k_m.gguf"}

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

SPECIALS = ("<|im_start|>system\nYou are<|im_end|>\n<|endoftext|> <bos>Hi<eos><start_of_turn>user\n"
            "<end_of_turn> <s> x </s><unk> <|begin_of_text|>a<|end_of_text|> <think>t</think>")
EDGE_CASES = {
    "hello": "Hello world",
    "empty": "",
    "space": " ",
    "lead_trail": "   leading and trailing   ",
    "whitespace_runs": "a  b   c\t\td\n\ne\n\n\n f \t \n g\r\n\r\nh      \n",
    "only_newlines": "\n\n\n\n\n",
    "digits": "1234567890 3.14159 1,000,000 42nd 2024-01-01 007 x1y22z333",
    "unicode_numbers": "\u00bd \u2167 \u0661\u0662\u0663 \u00b2 \U0001d7d8",
    "contractions": "I'm you're he's they've we'll I'd don't IT'S 'S 'tis o'clock don\u017ft",
    "emoji": "\U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 "
             "\U0001f3f3\ufe0f\u200d\U0001f308 \U0001f600\U0001f603 a\U0001f600b",
    "cjk": "\u4e2d\u6587\u6d4b\u8bd5\uff0c\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3001"
           "\ud55c\uad6d\uc5b4 \u4e2d 123",
    "combining": "e\u0301 n\u0303o Z\u0351\u0352\u0353 \u1e9b\u0323 caf\u00e9 cafe\u0301",
    "arabic": "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 123 "
              "\u0661\u0662\u0663 \u05e9\u05dc\u05d5\u05dd",
    "odd_spaces": "a \u00a0b\u3000c\u2003d\u200be\u2028f \u0085g\x1ch\x0bi\x0cj",
    "controls": "\x00\x01\x7f tab\there \u200d\ufeff",
    "code": "def f(x):\n    return x**2  # comment\n\tif (a&&b) { c->d[0] = \"s\"; }\n",
    "punctuation": "Wait... what?! (yes) [no] {maybe} -- \u2014 \u201cquoted\u201d 'single' @user #tag $5 100% a/b",
    "url": "https://example.com/path?q=1&r=two#frag user@mail.org",
    "caps": "ALL CAPS TEXT and MiXeD CaSe",
    "meta_chars": "\u2581 already \u2581\u2581 meta <0x41> <0xZZ>",
    "specials": SPECIALS,
    "long_word": "pneumonoultramicroscopicsilicovolcanoconiosis " * 3,
    "space_runs": "x" + " " * 17 + "y" + " " * 40,
    "strip_and_single_word": "a  <mask>  b<mask>c hello hellothere xhello (hello) hello",
}


def wiki_text(min_bytes=50_000):
    lines, size = [], 0
    with open(DATA / "wiki.test.raw", encoding="utf-8") as f:
        for line in f:
            lines.append(line)
            size += len(line.encode("utf-8"))
            if size >= min_bytes:
                break
    return "".join(lines)


def train_tiny():
    """Small tokenizers trained on WikiText-2 valid: {name: Tokenizer}."""
    corpus = (DATA / "wiki.valid.raw").read_text(encoding="utf-8").splitlines()[:3000]
    out = {}

    bl = Tokenizer(models.BPE())
    bl.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    bl.decoder = decoders.ByteLevel()
    bl.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=900, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    bl.add_tokens(["<think>", "</think>"])  # plain added tokens, matched after normalization
    bl.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True, normalized=False)])
    bl.add_tokens([AddedToken("hello", single_word=True, normalized=False)])
    bl.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", bl.token_to_id("<|begin_of_text|>"))])
    out["tiny_bytelevel_llama3"] = bl

    qwen = Tokenizer.from_str(bl.to_str())
    qwen.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    qwen.post_processor = processors.ByteLevel(trim_offsets=False)
    out["tiny_bytelevel_qwen2"] = qwen

    gpt2 = Tokenizer.from_str(bl.to_str())
    gpt2.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=True)])
    gpt2.post_processor = None
    out["tiny_bytelevel_gpt2_digits"] = gpt2

    spm = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    spm.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    spm.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    spm.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=700, special_tokens=["<unk>", "<s>", "</s>"], max_token_length=12, show_progress=False))
    spm_json = json.loads(spm.to_str())
    vocab = spm_json["model"]["vocab"]
    for b in range(256):  # byte-fallback tokens, as SentencePiece vocabularies carry them
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    spm = Tokenizer.from_str(json.dumps(spm_json))
    spm.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", spm.token_to_id("<s>"))])
    out["tiny_spm"] = spm

    meta = Tokenizer.from_str(spm.to_str())
    meta.normalizer = None
    meta.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
    meta.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(replacement="\u2581",
                                                                                  prepend_scheme="first")])
    out["tiny_spm_metaspace"] = meta
    return out


def convert_gguf(name, gguf):
    """The HF tokenizer transformers builds from `gguf` (see the module doc)."""
    from gguf import GGUFReader
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(str(MODEL_DIR), gguf_file=gguf).backend_tokenizer
    field = GGUFReader(MODEL_DIR / gguf).fields.get("tokenizer.ggml.pre")
    if field is not None and field.contents() in ("smollm", "starcoder"):
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    return tok


def expected(tok, texts):
    cases = []
    for name, text in texts.items():
        ids = tok.encode(text, add_special_tokens=False).ids
        ids_special = tok.encode(text, add_special_tokens=True).ids
        decoded = tok.decode(ids, skip_special_tokens=False)
        decoded_skip = tok.decode(ids_special, skip_special_tokens=True)
        cases.append({"name": name, "ids": ids, "ids_special": ids_special,  # null: the decode is the input text
                      "decoded": None if decoded == text else decoded,
                      "decoded_skip": None if decoded_skip == text else decoded_skip})
    return cases


def write_expected(name, tok, texts, source):
    cases = expected(tok, texts)
    doc = {"tokenizer": source, "cases": cases}
    path = OUT / f"{name}.expected.json"
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{path.name}: {sum(len(c['ids']) + len(c['ids_special']) for c in cases)} ids")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    texts = dict(EDGE_CASES)
    texts["wikitext2_test_head"] = wiki_text()
    (OUT / "texts.json").write_text(json.dumps(texts, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")

    for name, tok in train_tiny().items():
        file = f"{name}.tokenizer.json"
        tok.save(str(OUT / file), pretty=False)
        write_expected(name, Tokenizer.from_file(str(OUT / file)), texts, file)

    for name, gguf in REAL_MODELS.items():
        if not (MODEL_DIR / gguf).exists():
            print(f"skipping {name}: {MODEL_DIR / gguf} is absent (python3 scripts/fetch_models.py --all)",
                  file=sys.stderr)
            continue
        tok = convert_gguf(name, gguf)
        json_path = MODEL_DIR / (Path(gguf).stem + ".tokenizer.json")
        tok.save(str(json_path))
        write_expected(name, Tokenizer.from_file(str(json_path)), texts, gguf)


if __name__ == "__main__":
    main()
