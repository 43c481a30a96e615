#!/usr/bin/env python3
"""Table of bench/faq/quality.sh's runs: WikiText-2 and Python-stdlib PPL per
method and calibration set, the share of the original set's gap to FP that
each set removes, and the regeneration cost.

  python3 bench/faq/collect.py OUT SEED
"""
import json
import pathlib
import sys

out, seed = pathlib.Path(sys.argv[1]), sys.argv[2]


def load(p):
    return json.loads(p.read_text()) if p.exists() else None


fp_wiki = None
fp_code = load(out / "fp-code" / "eval.json")
rows = []
for rep in sorted(out.glob(f"*-s{seed}/report.json")):
    run = rep.parent
    method, cset = run.name.rsplit("-s", 1)[0].split("-", 1)
    r = load(rep)
    fp = r["eval"].get("fp")
    if fp:
        fp_wiki = fp["ppl"]
    code = load(run / "code-eval" / "eval.json")
    rows.append((method, cset, r["eval"]["quantized"]["ppl"], code["ppl"] if code else None,
                 r["stages"].get("total_s") if "stages" in r else None))

print(f"FP: WikiText-2 {fp_wiki}, Python {fp_code['ppl'] if fp_code else None}")
print("| method | calibration | WikiText-2 PPL | gap removed | Python PPL | gap removed |")
print("|---|---|---:|---:|---:|---:|")
base = {m: (w, c) for m, s, w, c, _ in rows if s == "original"}
for m, s, w, c, _ in rows:
    bw, bc = base.get(m, (None, None))
    def share(x, b, f):
        return f"{100 * (b - x) / (b - f):.0f} %" if None not in (x, b, f) and b != f and s != "original" else "—"
    print(f"| {m} | {s} | {w:.2f} | {share(w, bw, fp_wiki)} | {c:.2f} | {share(c, bc, fp_code['ppl'] if fp_code else None)} |"
          if c else f"| {m} | {s} | {w:.2f} | {share(w, bw, fp_wiki)} | — | — |")
for name in ("faq", "self"):
    f = load(out / f"regen-{name}-s{seed}" / "calib-set.json")
    if f:
        c = f["provenance"]["cost"]
        sel = f["provenance"]["selection"]
        pk = f["provenance"]["packing"]
        print(f"regen {name}: teacher {pathlib.Path(f['provenance']['teacher']['path']).name}, {c['new_tokens']} new "
              f"tokens in {c['generation_s']:.0f} s ({c['new_tokens_per_s']:.1f}/s), filters {sel['filters']}, "
              f"{pk['regenerated']} regenerated + {pk['original']} original sequences (shortfall {pk['shortfall']})")
