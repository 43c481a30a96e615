#!/usr/bin/env python3
"""Tables for bench/scale_70b.sh and bench/scaling_smollm2.sh.

  collect_scale.py memory [--pages-kept] LABEL=RUN_DIR ...   stage times, peak RSS per rank and
                                              the peak-RSS formula, predicted vs measured
  collect_scale.py scaling LABEL=RUN_DIR ...  stage times, all-reduce traffic, PPL
  collect_scale.py same-weights RUN_A RUN_B   fraction of equal fake-quant weights per layer
  collect_scale.py predict MODEL_DIR TOKENS P [--owner] [--pages-kept] [SKIP ...]  the formula alone

--pages-kept: the binary predates e849cfe, which drops a tensor's mapped
safetensors pages once it is copied out; before it they stayed resident.

RUN_DIR is a `maca quantize` run.dir (report.json). memory also reads
RUN_DIR.memwatch.json (bench/memwatch.py) when it exists.

The peak-RSS formula (GPTQ, no act-order, fused single-batch path, LLaMA
block; what is alive on one rank while a layer is rounded — read off
src/pipeline/block_quantizer.cpp, src/quant/gptq.cpp,
src/quant/hessian_prep.cpp, src/hessian/accumulator.cpp, src/model/model.cpp,
src/io/hf_model.cpp). Bytes, per rank, T = calibration tokens of the rank,
P = ranks, N_b = weights of one block, n = c the group's Hessian side, r_p the
rows of a layer r x c this rank rounds: rows mode, its split_rows slice (tiles
of 32 rows, about r / P); owner mode, r for the layers it owns (assign_owners:
largest rows*c^2 first onto the least-loaded rank, per group) and 0 otherwise:

  anon = R                                  runtime (libraries, OpenBLAS/OpenMP, MPI)
       (the embedding table, 4 V h, is released once the calibration tokens are embedded)
       + 4 N_b                              the block's weights, f32
       + 4 T h                              calibration stream (hidden states)
       + 4 T f_g                            forward temporaries at group g's capture
       + at the group's finalize: 8 n^2     raw sums (fixed point, two int64 words per entry of H's
                                            upper 128-tiles, for either quant.hessian_precision)
                                  + 4 n^2   finalized H, f32, on the ranks that prepare the group
                                            (rows mode: those with rows to round, or with
                                            run.node_share the node's first rank alone; owner mode:
                                            the group's owners; a group with one owner is reduced to
                                            it, the others free their sums)
       + at the group's preparation: 4 n^2  H (freed once prepared)
                                  + 8 n^2   the factor of H^-1, f64, built in place (one buffer)
       + at the GPTQ of a layer:   8 n^2    the factor (H is gone)
                                  + 9 r_p c W as f64 and the codes
                                  + 9 k c   the chunk's permuted f64 copy and codes (k = min(r_p, 1024))
       + at the exchange:          4 r c    the dequantized layer (+ 3 r c of exchange buffers at P > 1;
                                            the factor is freed before it)
       + (1 + 8/g) * (rounded slices and layers held so far in this block)
  shmem = the factor, when rows mode shares it on the node (run.node_share, P > 1 ranks on one
          node): held once per node, so the node needs sum(anon) + shmem + file, not sum(RSS), but
          counted in the RSS of every rank as far as it touched it: all 8 n^2 on the first rank
          (which writes it); on the others the upper triangle GPTQ reads, 4 n^2, plus up to 64 KiB
          per row that the kernel's fault-around maps next to each first touch of a row
          (fault_around_bytes, the pages being in the page cache already)
  file = F                                  the binary's and libraries' pages (~0.02 GiB); before
                                            e849cfe also b (V h + k N_b): the mapped safetensors
                                            pages of the embedding and of the k blocks read so far
                                            stayed resident (b = bytes per weight on disk)
  peak RSS = max over these moments of (anon + shmem) + file

f_g (floats per token): qkv h; o and gate_up h + 2 H_q + 2 H_kv; down h + 2 H_q + 2 H_kv + 2 I.
Binaries before 4b991d2 / 7fd2c44 built the factor in two n x n buffers and held every group's H
on every rank, and before 71e1a28 H stayed alive while the layers were rounded (4 n^2 more at
the GPTQ of a layer); docs/results.md gives the formula their runs were checked against.
"""
import json
import math
import pathlib
import sys

import yaml

GIB = 2**30
R_RUNTIME = 0.10 * GIB  # estimated; see bench/README.md
LIBS_FILE = 0.02 * GIB  # file-backed pages of the binary and its libraries (measured: `maca version` ~17 MB RSS)
FAULT_AROUND = 64 * 1024  # Linux's default fault_around_bytes


def load_report(run):
    return json.loads((pathlib.Path(run) / "report.json").read_text())


def load_memwatch(run):
    p = pathlib.Path(str(run).rstrip("/") + ".memwatch.json")
    return json.loads(p.read_text()) if p.exists() else None


def spec_of(report):
    cfg = json.loads((pathlib.Path(report["provenance"]["model"]) / "config.json").read_text())
    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d = cfg.get("head_dim", h // heads)
    return {"h": h, "I": cfg["intermediate_size"], "Hq": heads * d, "Hkv": cfg["num_key_value_heads"] * d,
            "V": cfg["vocab_size"], "L": cfg["num_hidden_layers"],
            "bytes_per_weight": {"bfloat16": 2, "float16": 2, "float32": 4}[cfg.get("torch_dtype", "bfloat16")]}


def block_layers(s):
    h, I, Hq, Hkv = s["h"], s["I"], s["Hq"], s["Hkv"]
    return [("qkv", [("self_attn.q_proj", Hq, h), ("self_attn.k_proj", Hkv, h), ("self_attn.v_proj", Hkv, h)]),
            ("o", [("self_attn.o_proj", h, Hq)]),
            ("gate_up", [("mlp.gate_proj", I, h), ("mlp.up_proj", I, h)]),
            ("down", [("mlp.down_proj", h, I)])]


def skipped(name, patterns):
    import fnmatch
    return any(fnmatch.fnmatchcase("model.layers.0." + name, p) for p in patterns)


def split_rows(rows, P, quantum=32):
    """parallel::split_rows: [begin, end) per rank, tile-aligned, the first ones one quantum more."""
    units = (rows + quantum - 1) // quantum
    base, extra = divmod(units, P)
    out, at = [], 0
    for r in range(P):
        end = min(rows, at + (base + (1 if r < extra else 0)) * quantum)
        out.append((at, end))
        at = end
    return out


def assign_owners(costs, P):
    """parallel::assign_owners: largest first onto the least-loaded rank (ties: lower rank, earlier item)."""
    order = sorted(range(len(costs)), key=lambda i: (-costs[i], i))
    load, owner = [0.0] * P, [0] * len(costs)
    for i in order:
        r = min(range(P), key=lambda k: (load[k], k))
        owner[i] = r
        load[r] += costs[i]
    return owner


SHARED = " (node-shared)"


def predict(s, T, P, skip, blocks_loaded, group_size=128, pages_kept=False, partition="rows", rank=0,
            node_share=False):
    """Predicted peak (anon, shmem, file, terms, where) in bytes for one rank; node_share: rows mode
    with run.node_share and all P ranks on one node."""
    h, I, Hq, Hkv, V, b = s["h"], s["I"], s["Hq"], s["Hkv"], s["V"], s["bytes_per_weight"]
    groups = block_layers(s)
    N_b = sum(r * c for _, ls in groups for _, r, c in ls)
    fwd = {"qkv": h, "o": h + 2 * Hq + 2 * Hkv, "gate_up": h + 2 * Hq + 2 * Hkv, "down": h + 2 * Hq + 2 * Hkv + 2 * I}
    per_weight_held = 1 + 8 / group_size  # codes + (f32 scale, i32 zero) per group of a row
    base = {"runtime R": R_RUNTIME, "block f32 4N_b": 4 * N_b,
            "calib stream 4Th": 4 * T * h}
    shared = node_share and partition == "rows" and P > 1
    factor_key = "GPTQ H^-1 factor f64 8n^2" + (SHARED if shared else "")
    read_key = "GPTQ H^-1 factor's upper triangle read, 4n^2 + 64 KiB n" + SHARED
    best, held_out = None, 0.0
    for g, layers in groups:
        todo = [(n, r, c) for n, r, c in layers if not skipped(n, skip)]
        if not todo:
            continue
        n = todo[0][2]
        fw = 4 * T * fwd[g]
        tiles = (n + 127) // 128
        raw = tiles * (tiles + 1) // 2 * 2 * 128 * 128 * 8
        if partition == "owner" and P > 1:
            owner = assign_owners([r * c * c for _, r, c in todo], P)
            mine = [r if owner[i] == rank else 0 for i, (_, r, _) in enumerate(todo)]
        else:
            mine = [split_rows(r, P)[rank][1] - split_rows(r, P)[rank][0] for _, r, _ in todo]
        prepares = rank == 0 if shared else any(mine)
        H = 4 * n * n if prepares else 0
        held_slices = 0.0
        cands = [(f"{g}: finalize H (raw sums + H)", {"forward temps": fw, "raw sums 8n^2": raw, "H f32 4n^2": H,
                                                      "rounded layers held": held_out})]
        if prepares:
            cands.append((f"{g}: prepare (H + factor)", {"forward temps": fw, "H f32 4n^2": H, factor_key: 8 * n * n,
                                                         "rounded layers held": held_out}))
        for (name, r, c), rp in zip(todo, mine):
            if rp == 0:
                continue
            k = min(rp, 1024)
            factor = {read_key: 4 * n * n + FAULT_AROUND * n} if shared and not prepares else {factor_key: 8 * n * n}
            cands.append((f"{g}: GPTQ of {name} ({rp}x{c} on this rank)",
                          {"forward temps": fw, **factor,
                           "GPTQ W f64 + codes 9r_pc": 9 * rp * c, "GPTQ chunk 9kc": 9 * k * c,
                           "rounded layers held": held_out + held_slices}))
            held_slices += rp * c * per_weight_held
        r, c = max(((r, c) for _, r, c in todo), key=lambda x: x[0] * x[1])
        cands.append((f"{g}: gather + dequantize",
                      {"forward temps": fw, "dequantized layer 4rc": 4 * r * c,
                       "exchange buffers": (3 * r * c if P > 1 else 0),
                       "rounded layers held": held_out + held_slices}))
        for where, terms in cands:
            tot = sum(terms.values())
            if best is None or tot > best[0]:
                best = (tot, where, terms)
        held_out += sum(r * c for _, r, c in todo) * per_weight_held
    terms = dict(base)
    terms.update(best[2])
    shmem = sum(v for k, v in terms.items() if k.endswith(SHARED))
    anon = sum(terms.values()) - shmem
    file = b * (V * h + blocks_loaded * N_b) if pages_kept else 0
    file += LIBS_FILE
    return anon, shmem, file, terms, best[1], N_b


def fmt_gib(x):
    return f"{x / GIB:.2f}"


def stage_row(label, r):
    st = r["stages"]
    keys = ["load_s", "forward_s", "hessian_s", "round_s", "comm_s", "checkpoint_s", "export_s", "total_s"]
    return f"| {label} | {r['distributed']['ranks']} | " + " | ".join(f"{st.get(k, 0):.1f}" for k in keys) + " |"


def memory(args):
    pages_kept = "--pages-kept" in args
    runs = [a.split("=", 1) for a in args if a != "--pages-kept"]
    print("Time per stage (s; forward/hessian/round/comm/checkpoint summed over blocks, rank 0):\n")
    print("| run | P | load | forward | hessian | round | comm | checkpoint | export | total |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, run in runs:
        print(stage_row(label, load_report(run)))
    print("\nPeak RSS per rank (GiB): measured VmHWM (report.json) against the formula; the sampled maxima of "
          "RssAnon/RssFile come from bench/memwatch.py (0.25 s samples).\n")
    print("| run | P | T/rank | rank | VmHWM | sampled max anon | sampled max shmem | sampled max file | "
          "predicted anon | predicted shmem | predicted file | predicted total | VmHWM / predicted | "
          "anon / predicted anon |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    details = []
    for label, run in runs:
        r = load_report(run)
        mw = load_memwatch(run)
        s = spec_of(r)
        cfg = yaml.safe_load(r["config"])
        skip = cfg["quant"]["skip"]
        partition = cfg["run"].get("partition", "rows")
        node_share = cfg["run"].get("node_share", False)  # absent: a binary before 22fca09
        P = r["distributed"]["ranks"]
        T_total = r["provenance"]["calibration"]["tokens"]
        T = math.ceil(T_total / P)
        procs = (mw or {}).get("processes", [])
        for rank, hwm in enumerate(r["distributed"]["peak_rss_bytes_per_rank"]):
            anon, shmem, file, terms, where, N_b = predict(s, T, P, skip, s["L"], r["group_size"], pages_kept,
                                                           partition, rank, node_share)
            p = procs[rank] if rank < len(procs) else None
            ma = p["max_RssAnon"] if p else float("nan")
            ms = p["max_RssShmem"] if p else float("nan")
            mf = p["max_RssFile"] if p else float("nan")
            total = anon + shmem + file
            print(f"| {label} | {P} | {T} | {rank} | {fmt_gib(hwm)} | {fmt_gib(ma)} | {fmt_gib(ms)} | {fmt_gib(mf)} | "
                  f"{fmt_gib(anon)} | {fmt_gib(shmem)} | {fmt_gib(file)} | {fmt_gib(total)} | {hwm / total:.3f} | "
                  f"{ma / anon:.3f} |")
            details.append((f"{label} rank {rank}", s, T, P, skip, partition, anon, file, terms, where, N_b))
        if mw and "max_anon_sum_plus_shmem_bytes" in mw:
            print(f"| {label} | {P} | | node | sampled max of the ranks' anon summed + shmem once: "
                  f"{fmt_gib(mw['max_anon_sum_plus_shmem_bytes'])}; lowest MemAvailable "
                  f"{fmt_gib(mw['min_mem_available_bytes'])} | | | | | | | | | | | | |")
    print("\nFormula terms at the predicted peak (GiB):\n")
    for label, s, T, P, skip, partition, anon, file, terms, where, N_b in details:
        print(f"- {label} (h {s['h']}, I {s['I']}, H_q {s['Hq']}, H_kv {s['Hkv']}, V {s['V']}, {s['L']} layers, "
              f"N_b {N_b / 1e6:.1f} M, T {T}, P {P} {partition}, skip {skip}): peak at {where}; "
              + ", ".join(f"{k} {v / GIB:.3f}" for k, v in terms.items() if v)
              + f"; anon {anon / GIB:.2f}; file {file / GIB:.2f}")


def scaling(args):
    runs = [a.split("=", 1) for a in args]
    print("| run | P | load | forward | hessian | round | comm | checkpoint | export | total |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, run in runs:
        print(stage_row(label, load_report(run)))
    print("\n| run | P | all-reduce bytes | all-reduce s | all-gather bytes (rank 0) | all-gather s | "
          "peak RSS per rank (GiB) | FP PPL | quantized PPL | eval s (quantized) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ppl = {}
    for label, run in runs:
        r = load_report(run)
        d = r["distributed"]
        ev = r.get("eval", {})
        fp = ev.get("fp", {}).get("ppl", float("nan"))
        q = ev.get("quantized", {}).get("ppl", float("nan"))
        ppl[label] = q
        print(f"| {label} | {d['ranks']} | {d['allreduce_bytes']} | {d['allreduce_s']:.2f} | "
              f"{d['allgather_bytes_rank0']} | {d['allgather_s_rank0']:.2f} | "
              + " / ".join(fmt_gib(x) for x in d["peak_rss_bytes_per_rank"])
              + f" | {fp:.4f} | {q:.4f} | {ev.get('quantized', {}).get('seconds', float('nan')):.1f} |")
    if len(ppl) == 2:
        (a, pa), (b, pb) = ppl.items()
        print(f"\nquantized PPL {b} vs {a}: {100 * (pb / pa - 1):+.3f} %")


def same_weights(args):
    import numpy as np
    from safetensors.numpy import load_file
    a_dir, b_dir = (pathlib.Path(x) for x in args[:2])

    def tensors(d):
        out = {}
        for f in sorted((d / "fake_quant").glob("*.safetensors")):
            out.update(load_file(str(f)))
        return out

    ta, tb = tensors(a_dir), tensors(b_dir)
    qa = load_report(a_dir)
    names = [l["name"] + ".weight" for l in qa["layers"] if not l["skipped"]]
    worst, total_eq, total_n = (2.0, None), 0, 0
    for n in names:
        x, y = ta[n], tb[n]
        assert x.shape == y.shape, n
        eq = int(np.count_nonzero(x == y))
        total_eq += eq
        total_n += x.size
        if eq / x.size < worst[0]:
            worst = (eq / x.size, n)
    print(f"{len(names)} quantized layers, {total_n} weights: {100 * total_eq / total_n:.4f} % equal "
          f"(lowest layer: {worst[1]} {100 * worst[0]:.4f} %)")
    return total_eq / total_n


def predict_cmd(args):
    """predict MODEL_DIR TOKENS P [--owner] [--node-share] [--pages-kept] [SKIP_PATTERN ...]: the formula
    alone, every rank (e.g. for a run that did not finish)."""
    pages_kept = "--pages-kept" in args
    partition = "owner" if "--owner" in args else "rows"
    node_share = "--node-share" in args
    args = [a for a in args if a not in ("--owner", "--pages-kept", "--node-share")]
    model, T_total, P, skip = args[0], int(args[1]), int(args[2]), args[3:] or ["lm_head"]
    s = spec_of({"provenance": {"model": model}})
    T = math.ceil(T_total / P)
    total, shared = 0, 0
    for rank in range(P):
        anon, shmem, file, terms, where, N_b = predict(s, T, P, skip, s["L"], 128, pages_kept, partition, rank,
                                                       node_share)
        total += anon + file
        shared = max(shared, shmem)
        print(f"{model}, T {T} per rank, P {P} {partition}{' node_share' if node_share else ''}, rank {rank}, "
              f"skip {skip}: peak at {where}; "
              + ", ".join(f"{k} {v / GIB:.3f}" for k, v in terms.items() if v)
              + f"; predicted anon {anon / GIB:.2f} GiB, shmem {shmem / GIB:.2f} GiB, file {file / GIB:.2f} GiB, "
                f"RSS {(anon + shmem + file) / GIB:.2f} GiB")
    print(f"sum of the ranks' peaks, shared memory once: {(total + shared) / GIB:.2f} GiB (an upper bound for one "
          f"node: the peaks need not coincide)")


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    {"memory": memory, "scaling": scaling, "same-weights": same_weights, "predict": predict_cmd}[cmd](rest)
