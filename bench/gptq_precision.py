#!/usr/bin/env python3
"""GPTQ in float32 vs float64 arithmetic, everything else equal (issue 9, item 3).

maca runs GPTQ's loop in float64 (W, the H⁻¹ factor, the error updates); the
published reference runs it in float32. In exact arithmetic the two are the
same algorithm, so the question is only how often float32 rounding flips a
code and whether that helps or hurts the layer's GPTQ objective. This runs the
plain column-by-column GPTQ of tests/scripts/make_gptq_fixtures.py (dynamic
groups from the current columns, fp16-nearest scales, damp 0.01) once in each
precision on synthetic layers with correlated inputs and reports, per setting,
the share of identical codes and the objective Σ err² / 2 of the float32 run
relative to the float64 one (both evaluated in float64 from the codes).
With --gguf, the weights are rows of a real tensor (dequantized by the `gguf`
package; the models of scripts/fetch_models.py are 4-bit GGUFs, so their
weights sit on a coarse grid and meet rounding ties far more often than
random weights do); H stays synthetic.

usage: python3 bench/gptq_precision.py [--layers N] [--rows R] [--cols C]
                                       [--gguf FILE --tensor NAME]
"""
import argparse
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests" / "scripts"))
from make_gptq_fixtures import codes_of, find_params  # noqa: E402


def real_weights(path, name):
    import gguf  # only needed with --gguf
    reader = gguf.GGUFReader(path)
    t = next((t for t in reader.tensors if t.name == name), None)
    if t is None:
        sys.exit(f"{path}: no tensor '{name}'")
    return np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32)


def layer(seed, rows, cols, tokens, real=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((tokens, cols))
    X[:, 1::4] = X[:, 0::4] + 0.1 * rng.standard_normal((tokens, cols // 4))
    X *= rng.uniform(0.2, 3.0, cols)
    H = (2.0 / tokens * (X.T @ X)).astype(np.float32)  # maca and the reference both finalize H in float32
    if real is not None:  # rows seed·rows … of the real tensor
        W = real[(seed * rows) % real.shape[0]:][:rows]
    else:
        W = (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)
    return W, H


def gptq(W, H, bits, g, dtype):
    rows, cols = W.shape
    maxq = 2**bits - 1
    W = W.astype(dtype).copy()
    Hd = H.astype(dtype) + dtype(0.01) * np.mean(np.diag(H)).astype(dtype) * np.eye(cols, dtype=dtype)
    U = np.linalg.cholesky(np.linalg.inv(Hd)).T.astype(dtype)
    codes = np.zeros((rows, cols))
    scales = np.zeros((cols // g, rows))
    zeros = np.zeros((cols // g, rows))
    for i in range(cols):
        if i % g == 0:
            s, z = find_params(W[:, i:i + g].astype(np.float64), bits, True, False)
            scales[i // g], zeros[i // g] = s, z
        s, z = scales[i // g].astype(dtype), zeros[i // g].astype(dtype)
        w = W[:, i].copy()
        c = codes_of(w, s, z, dtype(maxq))
        codes[:, i] = c
        err = (w - s * (c - z)) / U[i, i]
        W[:, i:] -= err[:, None] * U[i, i:][None, :]
    return codes, scales, zeros


def objective(W, H, codes, scales, zeros, g):
    """tr((W − Q) H (W − Q)ᵀ) / 2 in float64: the layer output error GPTQ minimizes."""
    deq = np.repeat(scales.T, g, axis=1) * (codes - np.repeat(zeros.T, g, axis=1))
    E = W.astype(np.float64) - deq
    return float(np.einsum("ij,jk,ik->", E, H.astype(np.float64), E) / 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=20)
    ap.add_argument("--rows", type=int, default=64)
    ap.add_argument("--cols", type=int, default=512)
    ap.add_argument("--gguf", help="take the weights from this GGUF file")
    ap.add_argument("--tensor", default="blk.3.attn_output.weight", help="with --gguf: the tensor")
    a = ap.parse_args()
    real = real_weights(a.gguf, a.tensor) if a.gguf else None
    if real is not None:
        a.cols = real.shape[1]
    what = f"rows of {a.tensor} in {a.gguf}" if a.gguf else "synthetic weights"
    print(f"numpy {np.__version__}; {a.layers} layers [{a.rows}, {a.cols}] ({what}), synthetic H from 4 x cols tokens")
    print("| setting | codes that differ (f32 vs f64) | objective f32/f64: mean | min | max | f32 better |")
    print("|---|---:|---:|---:|---:|---:|")
    for bits, g in ((4, 64), (3, 64), (2, 64)):
        differ, total, ratios = 0, 0, []
        for seed in range(a.layers):
            W, H = layer(seed, a.rows, a.cols, 4 * a.cols, real)
            r64 = gptq(W, H, bits, g, np.float64)
            r32 = gptq(W, H, bits, g, np.float32)
            differ += int(np.sum(r64[0] != r32[0]))
            total += r64[0].size
            ratios.append(objective(W, H, *r32, g) / objective(W, H, *r64, g))
        ratios = np.array(ratios)
        print(f"| W{bits}g{g} | {differ} of {total} | {ratios.mean():.6f} | {ratios.min():.6f} | "
              f"{ratios.max():.6f} | {np.sum(ratios < 1)}/{len(ratios)} |")


if __name__ == "__main__":
    main()
