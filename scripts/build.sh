#!/usr/bin/env bash
# Configures and builds maca in build/ (Release). Extra arguments go to cmake's
# configure step, e.g. scripts/build.sh -DMACA_WITH_CUDA=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build -j"$(nproc)"
