#!/usr/bin/env bash
# The test command: installs prerequisites, builds, fetches the small real
# model (SmolLM2-135M, for the tests that need it), and runs every test that
# needs no GPU and is not labelled slow.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh "$@"
python3 scripts/fetch_models.py smollm2-135m
ctest --test-dir build --output-on-failure -j"$(nproc)" -LE "slow"
