#!/usr/bin/env bash
# bench/gpu/check.sh — the one prepared GPU check (issue 12): on a machine with
# one NVIDIA GPU it builds maca with CUDA, runs the gpu-labelled tests, and
# times what this version can run there, writing one JSON and one Markdown
# table. Meant to be run once, as is, where GPU time is scarce.
#
#   bench/gpu/check.sh [OUT_DIR]        (default: bench/gpu/out; $OUT if set)
#
# Steps (each bounded by its own timeout; a failed step is recorded and the
# next one still runs):
#   1. configure + build (Release, CUDA arch 90 unless CUDA_ARCH is set)
#   2. ctest -L gpu: every CUDA op against the CPU oracle, the whole-model
#      GPU-vs-CPU checks
#   3. cuBLAS reference rates (bf16 with fp32 accumulation, fp32) at 8192³ and
#      the LLaMA-3-8B MLP shape (bench/gpu/gemm_rate.cpp)
#   4. a LLaMA-3-8B-shaped synthetic model (bench/make_synthetic_llama,
#      32 blocks, bf16 on disk): forward throughput on the GPU (8 × 2048
#      random tokens) next to those rates; target ≥ 50 % of the bf16 rate
#   5. GPTQ W4g128 of that model on 128 × 2048 random tokens, per stage, and
#      one LLaMA-3-70B-shaped block: only when `maca quantize --device cuda`
#      runs on the tiny fixture model first (the probe), so that a GPU path
#      that fails at once records why instead of spending the budget.
# Budget: about 8 minutes on an H100/H200 node with 16 cores.
# Environment: BUILD (build tree, default build-gpu), SKIP_BUILD=1 (use BUILD
# as it is), CUDA_ARCH (default 90), LAYERS_8B (default 32; fewer for a dry
# run), WORK (scratch for the synthetic models, about 17 GB; removed at the end).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUT=${1:-${OUT:-bench/gpu/out}}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BUILD=${BUILD:-build-gpu}
WORK=${WORK:-$(mktemp -d /tmp/maca-gpu-check.XXXXXX)}
LOG="$OUT/check.log"
: >"$LOG"
START=$(date +%s)
declare -A STATUS

step() {  # step NAME TIMEOUT_S CMD...: runs CMD, logs, records its status
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  echo "=== $name: $*" | tee -a "$LOG"
  timeout "$limit" "$@" >>"$LOG" 2>&1
  local rc=$?
  STATUS[$name]="rc=$rc seconds=$((SECONDS - t0))"
  echo "=== $name: rc=$rc in $((SECONDS - t0)) s" | tee -a "$LOG"
  return $rc
}

{
  echo "command: $0 $*"
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(hostname), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo "gpu: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)"
  echo "nvcc: $(nvcc --version 2>&1 | tail -1)"
  echo "git: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
} | tee "$OUT/machine.txt" | tee -a "$LOG"

# 1. Build.
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  step configure 120 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMACA_WITH_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" &&
    step build 300 cmake --build "$BUILD" -j"$(nproc)"
fi
if [[ ! -x $BUILD/src/maca ]]; then
  echo "build failed; see $LOG" | tee -a "$LOG"
fi
MACA=$BUILD/src/maca

# 2. GPU tests (JUnit for the counts).
step gpu_tests 240 ctest --test-dir "$BUILD" -L gpu --output-on-failure --output-junit "$OUT/gpu_tests.xml"

# 3. Reference rates.
step gemm_rate 60 bash -c "'$BUILD/bench/gpu_gemm_rate' > '$OUT/gemm_rate.jsonl'"

# 4. The 8B-shaped model and its forward throughput.
MODEL8=$WORK/llama3-8b-shaped
step make_8b 240 "$BUILD/bench/make_synthetic_llama" --out "$MODEL8" --hidden 4096 --intermediate 14336 \
  --heads 32 --kv-heads 8 --layers "${LAYERS_8B:-32}" --vocab 128256 --dtype bf16 \
  --calib-tokens "$WORK/calib.tokens" --calib-count $((128 * 2048))
step forward_8b 180 bash -c "'$BUILD/bench/bench_forward' '$MODEL8' --device cuda --random-tokens --ctx 2048 \
  --windows 8 > '$OUT/forward_8b.txt'"

# 5. Quantize on the GPU, after the probe.
if step quantize_probe 120 "$MACA" quantize --device cuda --set model.path=tests/fixtures/model/llama \
  --set quant.method=rtn --set eval.fp=false --set eval.quantized=false --run-dir "$WORK/probe"; then
  step quantize_8b 420 "$MACA" quantize -c configs/gptq-w4g128.yaml --device cuda --set model.path="$MODEL8" \
    --set calib.data="$WORK/calib.tokens" --set calib.n_samples=128 --set calib.seq_len=2048 \
    --set eval.fp=false --set eval.quantized=false --set export.gptq=false --set export.fake_quant=false \
    --run-dir "$OUT/quantize_8b"
  MODEL70=$WORK/llama3-70b-block
  step make_70b 240 "$BUILD/bench/make_synthetic_llama" --out "$MODEL70" --hidden 8192 --intermediate 28672 \
    --heads 64 --kv-heads 8 --layers 1 --vocab 128256 --dtype bf16 \
    --calib-tokens "$WORK/calib70.tokens" --calib-count $((128 * 2048)) &&
    step quantize_70b_block 300 "$MACA" quantize -c configs/gptq-w4g128.yaml --device cuda \
      --set model.path="$MODEL70" --set calib.data="$WORK/calib70.tokens" --set calib.n_samples=128 \
      --set calib.seq_len=2048 --set eval.fp=false --set eval.quantized=false --set export.gptq=false \
      --set export.fake_quant=false --run-dir "$OUT/quantize_70b_block"
else
  grep -m1 "runs on the CPU only\|error" "$LOG" | tail -1 >"$OUT/quantize_unsupported.txt"
fi

# Results: one JSON + one Markdown table.
{
  for k in "${!STATUS[@]}"; do echo "$k ${STATUS[$k]}"; done
} >"$OUT/steps.txt"
python3 bench/gpu/collect.py "$OUT" "$((SECONDS))" | tee -a "$LOG"
rm -rf "$WORK"
echo "total: $(($(date +%s) - START)) s; results in $OUT/gpu_check.json and $OUT/gpu_check.md"
