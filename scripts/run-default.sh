#!/usr/bin/env bash
# The main job on its default model and data: installs prerequisites, builds,
# fetches SmolLM2-135M and prints its WikiText-2 test perplexity at ctx 2048.
# Extra arguments are passed to `maca eval` (e.g. --max-windows 8).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
python3 scripts/fetch_models.py smollm2-135m
build/src/maca eval --model smollm2-135m --data wikitext-2-raw/wiki.test.raw --ctx 2048 "$@"
