#!/usr/bin/env bash
# The main job on its default model and data: installs prerequisites, builds,
# fetches SmolLM2-135M, quantizes it with GPTQ (4 bits, group 128, act-order
# with static groups; configs/gptq-w4g128.yaml), calibrated on 128 x 2048
# tokens of the C4 train sample, and prints the WikiText-2 test
# perplexity (ctx 2048) of the full-precision and the quantized model.
# Outputs go to runs/quantize-<date>-<time>/ (GPTQ checkpoint, fake-quant
# model, report.json). Extra arguments are passed to `maca quantize`
# (e.g. --max-windows 16 for a quicker, partial evaluation).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
python3 scripts/fetch_models.py smollm2-135m
build/src/maca quantize -c configs/gptq-w4g128.yaml "$@"
