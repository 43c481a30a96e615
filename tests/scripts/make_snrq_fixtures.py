#!/usr/bin/env python3
"""Builds the SNRQ / K-SNRQ fixtures under tests/fixtures/snrq/.

A plain float64 numpy transcription of algorithms.md §4, written from the
published description, not from src/quant: the target
T = W + α·W·D·H_λ⁻¹ by np.linalg.solve, the order by a stable argsort of
diag(H) ascending, L = np.linalg.cholesky of the permuted damped H, and the
decoding column by column from the last to the first with the conditional
target c_j = t_j + Σ_{i>j} (t_i − q_i)·L_ij / L_jj summed over ALL later
columns at once (no blocking). K-SNRQ keeps the K best partial decodings per
row, expands every beam to EVERY grid level with score S + L_jj²·(c − level)²,
keeps the best K (ties: lower beam, then lower level: a stable sort of
beam·levels + level), and takes beam 0 at the end. It is the oracle for
tests/quant/test_snrq_fixtures.cpp.

Group parameters are the min-max of the target over each group of
processing-order positions (find_params of make_gptq_fixtures.py, fp16-exact
scales as maca stores them), g_idx[perm[i]] = i // g. Dead inputs (H_ii = 0)
are zeroed in W and in D's rows and columns, their H_ii set to 1, before
damping λ·mean(diag H). The α modes reduce to an α for the layer: fixed: the
value; sample: 1 with D as given (the per-sequence α_s are folded into D by
the accumulator); closed_form: 0 in block 0, the reference value in block 1,
the previous block's α* after. loss = ½·Σ_rows ‖(t − q)·L‖², computed from
the final codes. Where D is used (and not sampled), each row also gets
num = ⟨q − w, w·D⟩ and den = (w·D)·H_λ⁻¹·(w·D)ᵀ for the closed-form α*.

Inputs are those of make_gptq_fixtures.py (W [16, 256], H, D, one dead
column), read by the test from tests/fixtures/quant/inputs.f32; this script
writes only cases.json. Requires numpy. Regenerate with
  python3 tests/scripts/make_snrq_fixtures.py
"""
import json
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_gptq_fixtures import ROWS, COLS, DEAD, find_params, make_inputs  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "snrq"


def snrq(W, H, D, bits, gs, sym, alpha, beam, use_d, damp=0.01):
    rows, cols = W.shape
    maxq = 2**bits - 1
    W = W.astype(np.float64).copy()
    H = H.astype(np.float64).copy()
    D = D.astype(np.float64).copy()
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    D[dead, :] = 0.0
    D[:, dead] = 0.0
    Hd = H + damp * np.mean(np.diag(H)) * np.eye(cols)
    M = W @ D
    X = np.linalg.solve(Hd, M.T).T  # W·D·Hd⁻¹ (Hd symmetric)
    T = W + alpha * X if use_d else W.copy()
    perm = np.argsort(np.diag(Hd), kind="stable")
    Tp, Wp = T[:, perm], W[:, perm]
    L = np.linalg.cholesky(Hd[perm][:, perm])
    d = np.diag(L)
    Lt = np.tril(L / d[None, :], -1)
    g = cols if gs == -1 else gs
    n_groups = -(-cols // g)
    scales = np.zeros((n_groups, rows))
    zeros = np.zeros((n_groups, rows))
    for j in range(n_groups):
        scales[j], zeros[j] = find_params(Tp[:, j * g:(j + 1) * g], bits, sym, False)
    grp = np.arange(cols) // g
    Qp = np.zeros((rows, cols))
    codes_p = np.zeros((rows, cols), dtype=np.int64)
    for r in range(rows):
        s_col, z_col = scales[grp, r], zeros[grp, r]
        levels = np.arange(maxq + 1)
        # beams: (score, codes [cols], values [cols]); decoded columns are those > j
        beams = [(0.0, np.zeros(cols, dtype=np.int64), np.zeros(cols))]
        for j in range(cols - 1, -1, -1):
            cands = []
            for b, (score, cs, vs) in enumerate(beams):
                c = Tp[r, j] + np.dot(Tp[r, j + 1:] - vs[j + 1:], Lt[j + 1:, j])
                vals = s_col[j] * (levels - z_col[j])
                inc = d[j] ** 2 * (c - vals) ** 2
                for a in range(maxq + 1):
                    cands.append((score + inc[a], b * (maxq + 1) + a))
            cands.sort(key=lambda x: (x[0], x[1]))
            new = []
            for score, key in cands[:beam]:
                b, a = divmod(key, maxq + 1)
                cs, vs = beams[b][1].copy(), beams[b][2].copy()
                cs[j], vs[j] = a, s_col[j] * (a - z_col[j])
                new.append((score, cs, vs))
            beams = new
        codes_p[r], Qp[r] = beams[0][1], beams[0][2]
    loss = 0.5 * float(np.sum(((Tp - Qp) @ L) ** 2))
    codes = np.zeros_like(codes_p)
    codes[:, perm] = codes_p
    g_idx = np.zeros(cols, dtype=np.int64)
    g_idx[perm] = grp
    terms = []
    if use_d:
        Mp, Xp = M[:, perm], X[:, perm]
        for r in range(rows):
            terms += [float(np.dot(Qp[r] - Wp[r], Mp[r])), float(np.dot(Xp[r], Mp[r]))]
    return dict(codes=codes, scales=scales, zeros=zeros, g_idx=g_idx, perm=perm, loss=loss, alpha_terms=terms)


# name, method, bits, group_size, sym, alpha_mode, alpha (fixed / reference), block, previous α*, beam, block_size
CASES = [
    ("snrq_sym_g64_fixed", "snrq", 4, 64, True, "fixed", 0.25, 3, None, 1, 128),
    ("snrq_asym_g32_fixed", "snrq", 3, 32, False, "fixed", 0.5, 3, None, 1, 48),
    ("snrq_sym_row_fixed", "snrq", 4, -1, True, "fixed", 0.25, 3, None, 1, 128),
    ("snrq_2bit_g64_alpha0", "snrq", 2, 64, False, "fixed", 0.0, 3, None, 1, 128),
    ("snrq_3bit_g96_partial", "snrq", 3, 96, True, "fixed", 0.25, 3, None, 1, 100),
    ("snrq_sample_g64", "snrq", 3, 64, False, "sample", 0.25, 3, None, 1, 128),
    ("snrq_closed_block0", "snrq", 3, 64, True, "closed_form", 0.25, 0, None, 1, 128),
    ("snrq_closed_block1", "snrq", 4, 32, False, "closed_form", 0.3, 1, 0.7, 1, 128),
    ("snrq_closed_block5", "snrq", 3, 64, True, "closed_form", 0.25, 5, 0.6, 1, 64),
    ("ksnrq_k1_g64", "ksnrq", 3, 64, True, "fixed", 0.25, 3, None, 1, 128),
    ("ksnrq_k2_asym_g32", "ksnrq", 3, 32, False, "fixed", 0.25, 3, None, 2, 128),
    ("ksnrq_k4_2bit_g64", "ksnrq", 2, 64, False, "fixed", 0.25, 3, None, 4, 48),
    ("ksnrq_k8_4bit_row", "ksnrq", 4, -1, True, "closed_form", 0.25, 4, 0.4, 8, 128),
    ("ksnrq_k4_sample_g128", "ksnrq", 4, 128, True, "sample", 0.25, 3, None, 4, 128),
]


def layer_alpha(mode, alpha, block, previous):
    if mode == "fixed":
        return alpha
    if mode == "sample":
        return 1.0
    if block == 0:
        return 0.0
    if block == 1 or previous is None:
        return alpha
    return previous


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    W, H, D = make_inputs()
    cases = []
    for name, method, bits, gs, sym, mode, alpha, block, previous, beam, bs in CASES:
        a = layer_alpha(mode, alpha, block, previous)
        use_d = mode != "fixed" or alpha != 0
        r = snrq(W, H, D, bits, gs, sym, a, beam, use_d)
        cases.append(dict(
            name=name, method=method, bits=bits, group_size=gs, sym=sym, alpha_mode=mode, alpha=alpha, block=block,
            previous_alpha_star=previous, beam=beam, block_size=bs, layer_alpha=a,
            codes=r["codes"].astype(int).ravel().tolist(), scales=[float(v) for v in r["scales"].ravel()],
            zeros=r["zeros"].astype(int).ravel().tolist(), g_idx=[int(v) for v in r["g_idx"]],
            perm=[int(v) for v in r["perm"]], loss=r["loss"],
            alpha_terms=r["alpha_terms"] if mode != "sample" else []))
    meta = dict(rows=ROWS, cols=COLS, dead_column=DEAD, cases=cases)
    (OUT / "cases.json").write_text(json.dumps(meta, separators=(",", ":")) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
