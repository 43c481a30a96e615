#!/usr/bin/env python3
"""Collects the report.json files written by bench/quality_table.sh into a
Markdown table: method x setting, PPL mean ± sd over seeds, wall time and peak
RSS of each run, and the full-precision PPL on the same windows.

    python3 bench/collect_quality.py OUT > table.md
"""
import json
import pathlib
import re
import statistics
import sys
from collections import defaultdict

METHODS = ["fp", "rtn", "gptq", "gptaq", "maca-prefix", "maca-crops"]
LABEL = {"fp": "FP", "rtn": "RTN", "gptq": "GPTQ", "gptaq": "GPTAQ",
         "maca-prefix": "GPTQ+MaCa (prefix)", "maca-crops": "GPTQ+MaCa (crops)"}


def fmt_ppl(values):
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} (n={len(values)})"


def main(out):
    out = pathlib.Path(out)
    for model_dir in sorted(p for p in out.iterdir() if p.is_dir()):
        rows = defaultdict(lambda: defaultdict(list))  # (method, setting) -> field -> values
        fp = model_dir / "fp" / "eval.json"
        if fp.exists():
            e = json.loads(fp.read_text())
            rows[("fp", "-")]["ppl"].append(e["ppl"])
            rows[("fp", "-")]["time"].append(e["seconds"])
            rows[("fp", "-")]["rss"].append(e["peak_rss_bytes"] / 2**30)
            windows = e["windows"]
        for rep in sorted(model_dir.glob("*/report.json")):
            m = re.match(r"(rtn|gptq|gptaq|maca-prefix|maca-crops)-(w\d+g-?\d+)(?:-s(\d+))?$", rep.parent.name)
            if not m:
                continue
            r = json.loads(rep.read_text())
            q = r["eval"].get("quantized")
            if not q:
                continue
            key = (m.group(1), m.group(2))
            rows[key]["ppl"].append(q["ppl"])
            rows[key]["time"].append(r["stages"]["total_s"] - q["seconds"])
            rows[key]["rss"].append(r["peak_rss_bytes"] / 2**30)
        print(f"\n### {model_dir.name}" + (f" — WikiText-2 test, ctx 2048, first {windows} windows" if fp.exists() else ""))
        print("\n| method | setting | PPL | quantize time (s, mean) | peak RSS (GiB, max) |")
        print("|---|---|---|---|---|")
        settings = sorted({s for (_, s) in rows if s != "-"}, key=lambda s: (-int(s[1:s.index('g')]), s))
        for s in ["-"] + settings:
            for method in METHODS:
                v = rows.get((method, s))
                if not v:
                    continue
                print(f"| {LABEL[method]} | {s} | {fmt_ppl(v['ppl'])} | {statistics.mean(v['time']):.0f} | "
                      f"{max(v['rss']):.2f} |")


if __name__ == "__main__":
    main(sys.argv[1])
