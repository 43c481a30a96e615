#!/usr/bin/env python3
"""Builds the rounding fixtures under tests/fixtures/quant/.

The reference below is a plain float64 numpy transcription of the algorithms
(docs/algorithms.md §1, §2 and the GPTAQ part of §4, with the semantics of
GPTQ's reference Quantizer.find_params / fasterquant), written independently
of src/quant: no blocking (every column updates all later ones at once), the
inverse by np.linalg.inv, GPTAQ's W·D·H⁻¹ by np.linalg.solve. It is the oracle
for tests/quant/test_fixtures.cpp.

maca's choices it follows: dead columns are zeroed before any group
parameters are computed; dynamic groups take their parameters from the
current (error-updated) columns, or with quant.gptq.group_params = block_start
from the columns as they were when the enclosing lazy block began (the
reference's behaviour); the scale is rounded to the nearest fp16 value (or,
with quant.scale_rounding = up, to the smallest fp16 value above it; with f32
not to fp16 at all but to float32) after
the clip search (and clamped to [2^-24, 65504]), the zero point
clamped to [0, maxq], and codes use the rounded scale; act-order is a stable
sort of diag(H) descending.

Outputs (about 0.6 MB):
  inputs.f32   W [16, 256], H [256, 256], D [256, 256] (float32, in that order)
  cases.json   per case: options and the expected codes, scales, zeros, g_idx,
               perm, loss, damp

Requires numpy. Regenerate with
  python3 tests/scripts/make_gptq_fixtures.py
"""
import json
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "quant"
ROWS, COLS, TOKENS, DEAD = 16, 256, 512, 5


def to_f16(scale, rounding):
    """fp16 value of each positive scale: nearest (ties to even) or up (smallest fp16 >= scale);
    f32: not fp16 at all, the float32 scale."""
    if rounding == "f32":
        return scale.astype(np.float32).astype(np.float64)
    h = scale.astype(np.float16)
    if rounding == "up":
        below = h.astype(np.float64) < scale
        h[below] = np.nextafter(h[below], np.float16(np.inf))
    return np.clip(h.astype(np.float64), 2.0**-24, 65504.0)


def find_params(x, bits, sym, clip, rounding="nearest"):
    """Per-row (scale, zero) of x [rows, len]."""
    maxq = 2**bits - 1
    xmin = np.minimum(x.min(axis=1), 0.0)
    xmax = np.maximum(x.max(axis=1), 0.0)
    if sym:
        xmax = np.maximum(np.abs(xmin), xmax)
        xmin = np.where(xmin < 0, -xmax, xmin)
    both0 = (xmin == 0) & (xmax == 0)
    xmin[both0] = -1.0
    xmax[both0] = 1.0
    scale = (xmax - xmin) / maxq
    zero = np.full_like(scale, (maxq + 1) / 2) if sym else np.round(-xmin / scale)
    if clip:
        grid, max_shrink, norm = 100, 0.8, 2.4
        best = np.full(x.shape[0], np.inf)
        for i in range(int(max_shrink * grid)):
            p = 1 - i / grid
            xmin1, xmax1 = p * xmin, p * xmax
            scale1 = (xmax1 - xmin1) / maxq
            zero1 = np.round(-xmin1 / scale1) if not sym else zero
            q = dequant(x, scale1[:, None], zero1[:, None], maxq)
            err = (np.abs(q - x) ** norm).sum(axis=1)
            better = err < best
            best[better] = err[better]
            scale[better] = scale1[better]
            zero[better] = zero1[better]
    scale = to_f16(scale, rounding)
    zero = np.clip(zero, 0, maxq)
    return scale, zero


def codes_of(x, scale, zero, maxq):
    return np.clip(np.round(x / scale) + zero, 0, maxq)


def dequant(x, scale, zero, maxq):
    return scale * (codes_of(x, scale, zero, maxq) - zero)


def prepare(W, H, damp):
    W = W.astype(np.float64).copy()
    H = H.astype(np.float64).copy()
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    Hd = H + damp * np.mean(np.diag(H)) * np.eye(H.shape[0])
    return W, H, Hd, dead


def gptq(W, H, bits, gs, sym, act_order, static_groups, clip, damp=0.01, D=None, alpha=0.0, rounding="nearest",
         block_start=False, bs=128):
    rows, cols = W.shape
    maxq = 2**bits - 1
    W, H, Hd, dead = prepare(W, H, damp)
    if D is not None:
        D = D.astype(np.float64).copy()
        D[dead, :] = 0.0
        D[:, dead] = 0.0
        W = W + alpha * np.linalg.solve(Hd, (W @ D).T).T  # W + α·W·D·Hd⁻¹ (Hd symmetric)
    g = cols if gs == -1 else gs
    n_groups = cols // g
    scales = np.zeros((n_groups, rows))
    zeros = np.zeros((n_groups, rows))
    dynamic = gs != -1 and not static_groups
    if not dynamic:
        for j in range(n_groups):
            scales[j], zeros[j] = find_params(W[:, j * g:(j + 1) * g], bits, sym, clip, rounding)
    perm = np.argsort(-np.diag(H), kind="stable") if act_order else np.arange(cols)
    W = W[:, perm]
    U = np.linalg.cholesky(np.linalg.inv(Hd[perm][:, perm])).T  # H⁻¹ = UᵀU, U upper
    codes = np.zeros((rows, cols))
    group_of_pos = np.zeros(cols, dtype=np.int64)
    loss = 0.0
    width = g * max(1, bs // g)  # maca's lazy-block width with dynamic groups
    for i in range(cols):
        if block_start and i % width == 0:
            snapshot, b0 = W[:, i:i + width].copy(), i  # the block's columns as the block begins
        if dynamic and i % g == 0:
            src = snapshot[:, i - b0:i - b0 + g] if block_start else W[:, i:i + g]
            scales[i // g], zeros[i // g] = find_params(src, bits, sym, clip, rounding)
        grp = 0 if gs == -1 else (i // g if dynamic else perm[i] // g)
        group_of_pos[i] = grp
        s, z = scales[grp], zeros[grp]
        w = W[:, i].copy()
        c = codes_of(w, s, z, maxq)
        codes[:, i] = c
        err = (w - s * (c - z)) / U[i, i]
        loss += np.sum(err**2) / 2
        W[:, i:] -= err[:, None] * U[i, i:][None, :]
    out_codes = np.zeros_like(codes)
    out_codes[:, perm] = codes
    g_idx = np.zeros(cols, dtype=np.int64)
    g_idx[perm] = group_of_pos
    return dict(codes=out_codes, scales=scales, zeros=zeros, g_idx=g_idx, perm=perm, loss=loss, damp=damp)


def rtn(W, bits, gs, sym, clip, rounding="nearest"):
    rows, cols = W.shape
    maxq = 2**bits - 1
    W = W.astype(np.float64)
    g = cols if gs == -1 else gs
    scales = np.zeros((cols // g, rows))
    zeros = np.zeros((cols // g, rows))
    codes = np.zeros((rows, cols))
    for j in range(cols // g):
        scales[j], zeros[j] = find_params(W[:, j * g:(j + 1) * g], bits, sym, clip, rounding)
        sl = slice(j * g, (j + 1) * g)
        codes[:, sl] = codes_of(W[:, sl], scales[j][:, None], zeros[j][:, None], maxq)
    deq = np.repeat(scales.T, g, axis=1) * (codes - np.repeat(zeros.T, g, axis=1))
    return dict(codes=codes, scales=scales, zeros=zeros, g_idx=np.arange(cols) // g, perm=np.arange(cols),
                loss=float(np.sum((W - deq) ** 2)), damp=0.0)


def make_inputs():
    rng = np.random.default_rng(1234)
    X = rng.standard_normal((TOKENS, COLS))
    # correlated inputs and uneven scales make act-order and the error feedback matter
    X[:, 1::4] = X[:, 0::4] + 0.1 * rng.standard_normal((TOKENS, COLS // 4))
    X *= rng.uniform(0.2, 3.0, COLS)
    X[:, DEAD] = 0.0
    Xf = X + 0.05 * rng.standard_normal(X.shape)  # full-precision stream; X is the quantized one
    H = 2.0 / TOKENS * (X.T @ X)
    H = (H + H.T) / 2
    D = 2.0 / TOKENS * ((Xf - X).T @ X)
    W = rng.standard_normal((ROWS, COLS)) * 0.05
    W[3, :] = np.abs(W[3, :])  # a row without negatives (symmetric grid quirk)
    W[7, 40:72] = 0.0  # an all-zero group for g32/g64
    return W.astype(np.float32), H.astype(np.float32), D.astype(np.float32)


CASES = [
    # name, method, bits, group_size, sym, act_order, static_groups, clip, block_size, alpha
    ("gptq_sym_g128", "gptq", 4, 128, True, False, False, False, 128, 0.0),
    ("gptq_asym_g64", "gptq", 4, 64, False, False, False, False, 32, 0.0),
    ("gptq_act_dynamic_g32", "gptq", 4, 32, True, True, False, False, 128, 0.0),
    ("gptq_act_static_g64", "gptq", 3, 64, False, True, True, False, 48, 0.0),
    ("gptq_row_groups", "gptq", 4, -1, True, True, False, False, 100, 0.0),
    ("gptq_2bit_g64", "gptq", 2, 64, False, False, False, False, 128, 0.0),
    ("gptq_3bit_g128", "gptq", 3, 128, True, False, False, False, 128, 0.0),
    ("gptq_8bit_g128", "gptq", 8, 128, False, True, False, False, 128, 0.0),
    ("gptq_clip_act_g64", "gptq", 3, 64, False, True, False, True, 128, 0.0),
    ("rtn_asym_g128", "rtn", 4, 128, False, False, False, False, 128, 0.0),
    ("rtn_clip_sym_g64", "rtn", 3, 64, True, False, False, True, 128, 0.0),
    ("gptaq_sym_g128", "gptaq", 4, 128, True, False, False, False, 128, 0.25),
    ("gptaq_act_asym_g64", "gptaq", 3, 64, False, True, False, False, 128, 0.5),
]
# Cases with a non-default quant.scale_rounding / quant.gptq.group_params:
# name, method, bits, group_size, sym, act_order, block_size, scale_rounding, group_params
OPTION_CASES = [
    ("rtn_sym_g64_scale_up", "rtn", 4, 64, True, False, 128, "up", "current"),
    ("gptq_sym_g64_scale_up", "gptq", 3, 64, True, False, 128, "up", "current"),
    ("gptq_sym_g64_scale_f32", "gptq", 4, 64, True, False, 128, "f32", "current"),
    ("rtn_asym_g32_scale_f32", "rtn", 3, 32, False, False, 128, "f32", "current"),
    ("gptq_sym_g32_block_start", "gptq", 4, 32, True, False, 128, "nearest", "block_start"),
    ("gptq_act_asym_g64_block_start", "gptq", 3, 64, False, True, 128, "nearest", "block_start"),
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    W, H, D = make_inputs()
    with open(OUT / "inputs.f32", "wb") as f:
        for a in (W, H, D):
            f.write(np.ascontiguousarray(a, dtype="<f4").tobytes())
    cases = []
    rows = [c + ("nearest", "current") for c in CASES]
    rows += [(n, m, b, gs, sym, act, False, False, bs, 0.0, sr, gp) for n, m, b, gs, sym, act, bs, sr, gp in OPTION_CASES]
    for name, method, bits, gs, sym, act, static, clip, bs, alpha, rounding, group_params in rows:
        if method == "rtn":
            r = rtn(W, bits, gs, sym, clip, rounding)
        else:
            r = gptq(W, H, bits, gs, sym, act, static, clip, D=D if method == "gptaq" else None, alpha=alpha,
                     rounding=rounding, block_start=group_params == "block_start", bs=bs)
        cases.append(dict(
            name=name, method=method, bits=bits, group_size=gs, sym=sym, act_order=act, static_groups=static,
            clip=clip, block_size=bs, alpha=alpha, scale_rounding=rounding, group_params=group_params,
            codes=r["codes"].astype(int).ravel().tolist(),
            scales=[float(v) for v in r["scales"].ravel()],
            zeros=r["zeros"].astype(int).ravel().tolist(),
            g_idx=[int(v) for v in r["g_idx"]], perm=[int(v) for v in r["perm"]],
            loss=float(r["loss"]), damp=float(r["damp"])))
    meta = dict(rows=ROWS, cols=COLS, dead_column=DEAD, cases=cases)
    (OUT / "cases.json").write_text(json.dumps(meta, separators=(",", ":")) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
