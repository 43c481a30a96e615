#!/usr/bin/env python3
"""Writes tests/fixtures/model/byte_tokenizer.json: a byte-level BPE tokenizer
with exactly the 256 byte tokens and no merges, so text can be evaluated with
the tiny fixture models (vocabulary 256) in tests that run `maca eval` or
quantize with evaluation. Token id = byte value (GPT-2 byte-to-unicode map)."""
import json
import pathlib


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def main():
    vocab = {ch: b for b, ch in sorted(bytes_to_unicode().items())}
    level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
           "pre_tokenizer": level, "post_processor": None, "decoder": level,
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                     "vocab": vocab, "merges": []}}
    out = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "model" / "byte_tokenizer.json"
    out.write_text(json.dumps(tok, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
