#!/usr/bin/env python3
"""Collects bench/gpu/check.sh's outputs in OUT into gpu_check.json and
gpu_check.md (standard library only: the GPU machine may have nothing else).

usage: collect.py OUT_DIR ELAPSED_S
"""
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def read(path):
    return path.read_text(errors="replace") if path.exists() else ""


def main():
    out = Path(sys.argv[1])
    elapsed = float(sys.argv[2]) if len(sys.argv) > 2 else None
    res = {"machine": read(out / "machine.txt").strip().splitlines(), "elapsed_s": elapsed, "steps": {}}
    for line in read(out / "steps.txt").splitlines():
        name, *kv = line.split()
        res["steps"][name] = {k: float(v) for k, v in (x.split("=") for x in kv)}

    xml = out / "gpu_tests.xml"
    if xml.exists():
        root = ET.parse(xml).getroot()
        suite = root if root.tag == "testsuite" else root.find("testsuite")
        res["gpu_tests"] = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "skipped", "errors")}
        res["gpu_tests"]["failed"] = [c.get("name") for c in suite.iter("testcase") if c.find("failure") is not None]

    rates = [json.loads(l) for l in read(out / "gemm_rate.jsonl").splitlines() if l.startswith("{")]
    res["gemm_rates"] = rates
    fwd = read(out / "forward_8b.txt")
    m = re.search(r"forward: .*?: ([\d.]+) tokens/s, ([\d.]+) GFLOP/s", fwd)
    if m:
        res["forward_8b"] = {"tokens_per_s": float(m.group(1)), "gflops": float(m.group(2))}
        best_bf16 = max((r["bf16_tflops"] for r in rates), default=0)
        best_f32 = max((r["f32_tflops"] for r in rates), default=0)
        if best_bf16:
            res["forward_8b"]["fraction_of_bf16_rate"] = float(m.group(2)) / 1e3 / best_bf16
        if best_f32:
            res["forward_8b"]["fraction_of_f32_rate"] = float(m.group(2)) / 1e3 / best_f32

    for name in ("quantize_8b", "quantize_70b_block"):
        rep = out / name / "report.json"
        if rep.exists():
            r = json.loads(rep.read_text())
            res[name] = {"stages": r.get("stages"), "seconds": r.get("seconds", r.get("total_s"))}
    unsupported = read(out / "quantize_unsupported.txt").strip()
    if unsupported:
        res["quantize_on_gpu"] = "not run: " + unsupported

    (out / "gpu_check.json").write_text(json.dumps(res, indent=2) + "\n")

    md = ["| item | result |", "|---|---|"]
    for line in res["machine"]:
        k, _, v = line.partition(": ")
        md.append(f"| {k} | {v} |")
    for name, s in res["steps"].items():
        md.append(f"| step {name} | rc {int(s.get('rc', -1))}, {s.get('seconds', 0):.0f} s |")
    if "gpu_tests" in res:
        g = res["gpu_tests"]
        md.append(f"| gpu tests | {g['tests']} run, {g['failures'] + g['errors']} failed, {g['skipped']} skipped "
                  f"{' '.join(g['failed'])} |")
    for r in rates:
        md.append(f"| cuBLAS {r['m']}×{r['n']}×{r['k']} | bf16 {r['bf16_tflops']} TFLOP/s, f32 "
                  f"{r['f32_tflops']} TFLOP/s |")
    if "forward_8b" in res:
        f = res["forward_8b"]
        md.append(f"| forward 8B-shaped, 8×2048 | {f['tokens_per_s']:.0f} tokens/s, {f['gflops'] / 1e3:.1f} "
                  f"TFLOP/s = {100 * f.get('fraction_of_bf16_rate', 0):.0f}% of bf16 "
                  f"({100 * f.get('fraction_of_f32_rate', 0):.0f}% of f32); target ≥ 50% of bf16 |")
    for name in ("quantize_8b", "quantize_70b_block"):
        if name in res:
            md.append(f"| {name} | {json.dumps(res[name]['stages'])} |")
    if "quantize_on_gpu" in res:
        md.append(f"| quantize on the GPU | {res['quantize_on_gpu']} |")
    if elapsed is not None:
        md.append(f"| total | {elapsed:.0f} s (budget 480 s) |")
    (out / "gpu_check.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
