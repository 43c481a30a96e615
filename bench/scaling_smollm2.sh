#!/usr/bin/env bash
# SmolLM2-135M GPTQ W4g128 at P = 1 and P = 2 (mpirun, one machine): time per
# stage, bytes all-reduced and the time it took, peak RSS per rank, quantized
# perplexity of both (must agree within 0.5 %) and the fraction of identical
# fake-quant weights (must be >= 99 %).
#
#   bench/scaling_smollm2.sh [OUT_DIR]       (default /work/smollm2-scaling)
#
# Environment: BUILD (default /work/build-bench), N_SAMPLES (calibration
# sequences of 2048 tokens, default 16), MAX_WINDOWS (WikiText-2 windows
# evaluated, default 4), HPREC (quant.hessian_precision, default f64 — the
# project default since 7973ff7; with f32 the split of the calibration rows
# over ranks changes most codes through GPTQ's error feedback), NICE (default "nice -n 5"). The model is the default
# model.path (smollm2-135m: ~/.cache/maca/models/SmolLM2-135M-Instruct.Q4_1.gguf;
# scripts/fetch_models.py --all fetches it). A run whose dir has a report.json
# is not repeated.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/work/build-bench}
OUT=$(realpath -m "${1:-/work/smollm2-scaling}")
N_SAMPLES=${N_SAMPLES:-16}
MAX_WINDOWS=${MAX_WINDOWS:-4}
HPREC=${HPREC:-f64}
NICE=${NICE:-nice -n 5}
MACA=$BUILD/src/maca
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$ROOT"
mkdir -p "$OUT"
[[ -x $MACA ]] || { echo "missing $MACA; build: cmake --build $BUILD --target maca" >&2; exit 1; }

echo "== machine"
lscpu | grep 'Model name' | sed 's/  */ /g'
echo "cores: $(nproc), memory: $(free -g | awk '/^Mem:/ {print $2}') GiB, $(uname -sr), $(mpirun --version | head -1)"
echo "maca $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src kernels || echo '+local changes'); binary $MACA built $(date -r "$MACA" "+%F %T")"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: builds and tests of others run at the same time)"

run() {
  local label=$1 np=$2; shift 2
  local rd=$OUT/$label
  if [[ -f $rd/report.json ]]; then echo "== $label: $rd/report.json exists, not rerun"; return 0; fi
  if [[ -e $rd ]]; then mv "$rd" "$rd.failed.$(date +%s)"; fi
  local cmd=("$MACA" quantize -c configs/gptq-w4g128.yaml --set "calib.n_samples=$N_SAMPLES"
    --set "eval.max_windows=$MAX_WINDOWS" --set "quant.hessian_precision=$HPREC" --set "run.dir=$rd"
    --set quant.gptq.act_order=false --set quant.gptq.static_groups=false "$@")
  ((np > 1)) && cmd=(mpirun --oversubscribe -np "$np" "${cmd[@]}")
  echo "+ ${cmd[*]}" | tee -a "$OUT/commands.txt"
  local rc=0
  $NICE /usr/bin/time -v "${cmd[@]}" >"$rd.log" 2>&1 || rc=$?
  grep -E 'ranks;|done in|perplexity|Elapsed' "$rd.log" | tail -6 || true
  echo "== $label: exit $rc"
  return "$rc"
}

# Scaling figures: default threads (run.threads = 0: every rank gets cores / local ranks
# BLAS threads, so 2 at P = 1 and 1 per rank at P = 2 on this machine).
run p1 1
run p2 2
# Equality check with the same BLAS thread count per rank at both P (as
# tests/parallel/test_mpi_real.cpp does): BLAS results depend on the thread count,
# and GPTQ's error feedback turns such last-bit differences into other codes.
run p1-t1 1 --set run.threads=1
run p2-t1 2 --set run.threads=1

echo
python3 bench/collect_scale.py scaling "P1=$OUT/p1" "P2=$OUT/p2"
echo
python3 bench/collect_scale.py scaling "P1-t1=$OUT/p1-t1" "P2-t1=$OUT/p2-t1"
for pair in "p1 p2" "p1-t1 p2-t1"; do
  # shellcheck disable=SC2086  # split "a b" into $1 $2 on purpose
  set -- $pair
  echo
  echo "== $1 vs $2"
  python3 - "$OUT/$1" "$OUT/$2" <<'EOF2'
import json, sys
sys.path.insert(0, "bench")
from collect_scale import same_weights
a, b = (json.load(open(d + "/report.json")) for d in sys.argv[1:3])
qa, qb = a["eval"]["quantized"]["ppl"], b["eval"]["quantized"]["ppl"]
rel = abs(qb / qa - 1)
print(f"quantized PPL {qa:.4f} vs {qb:.4f}: {100 * rel:.3f} % apart -> {'PASS' if rel <= 0.005 else 'FAIL'} (<= 0.5 %)")
frac = same_weights(sys.argv[1:3])
print(f"identical fake-quant weights {100 * frac:.4f} % -> {'PASS' if frac >= 0.99 else 'FAIL'} (>= 99 %)")
EOF2
done
