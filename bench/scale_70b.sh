#!/usr/bin/env bash
# 70B-shape scale check: synthetic LLaMA-3-70B-shaped blocks (hidden 8192,
# intermediate 28672, 64 heads, 8 KV heads, vocab 32000), 2 layers, random
# bf16 weights generated on disk, quantized with GPTQ W4g128 at P = 1 and P = 2
# with down_proj kept in full precision (the rows-mode comparison without
# run.node_share: every rank holds down_proj's Hessian and factor, and two
# 28672² ones do not fit in 24 GiB), then every linear, down_proj included,
# at P = 2 in owner mode (down_proj's statistics reduced to its owner, who
# alone factors them) and (RUNS=rowsdown) in rows mode, where the node's
# ranks share one factor (run.node_share), then the layer-count check: a
# smaller shape with 2 and with 8 layers at P = 1 (down_proj quantized).
# Prints the machine, every command, time per stage,
# peak RSS per rank and the peak-RSS formula.
#
#   bench/scale_70b.sh [OUT_DIR]          (default /work/scale-runs)
#
# Environment: BUILD (default /work/build-bench: maca and make_synthetic_llama
# built there), MODELS (where the synthetic models go, default /work/scale-models),
# MIN_AVAIL_MB (memwatch kills a run when MemAvailable drops below, default
# 1500), TRY_DOWN=1 also attempts one P = 1 run with down_proj quantized,
# NICE (default "nice -n 5"), HPREC (quant.hessian_precision, default f32:
# what the numbers in docs/results.md used; the project default is f64 since
# 7973ff7, which doubles the raw sums and the all-reduce, not the GPTQ peak),
# RUNS (default "small 70b down"; also "rowsdown": which sets of runs to do), PAGES_KEPT=1 when the
# binary predates e849cfe (mapped safetensors pages then stayed resident: the
# formula's file term). Runs whose run dir already has a report.json are
# not repeated (delete the dir to redo one); a run dir left by a killed or
# failed run is moved aside, never reused.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-/work/build-bench}
MODELS=${MODELS:-/work/scale-models}
OUT=$(realpath -m "${1:-/work/scale-runs}")
MIN_AVAIL_MB=${MIN_AVAIL_MB:-1500}
TRY_DOWN=${TRY_DOWN:-0}
HPREC=${HPREC:-f32}
RUNS=${RUNS:-small 70b down}
NICE=${NICE:-nice -n 5}
MACA=$BUILD/src/maca
MAKE=$BUILD/bench/make_synthetic_llama
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$ROOT"
mkdir -p "$OUT"
CMDS=$OUT/commands.txt
echo "# $(date "+%F %T") $0 $*" >>"$CMDS"
for b in "$MACA" "$MAKE"; do
  [[ -x $b ]] || { echo "missing $b; build: cmake --build $BUILD --target maca make_synthetic_llama" >&2; exit 1; }
done

echo "== machine"
lscpu | grep 'Model name' | sed 's/  */ /g'
echo "cores: $(nproc), memory: $(free -g | awk '/^Mem:/ {print $2}') GiB, $(uname -sr)"
echo "maca $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src kernels || echo '+local changes'), $("$MACA" version 2>/dev/null | head -1); binary $MACA built $(date -r "$MACA" "+%F %T")"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: builds and tests of others run at the same time)"
mkdir -p "$MODELS"
df -h "$MODELS" | tail -1

# Synthetic models (random bf16 weights, N(0, 0.02²)) with 65536 random calibration ids.
gen() {
  local dir=$1; shift
  if [[ -f $dir/config.json && -f $dir/calib.tokens ]]; then echo "== $dir exists"; return; fi
  local cmd=("$MAKE" --out "$dir" "$@" --vocab 32000 --calib-tokens "$dir/calib.tokens" --calib-count 65536)
  echo "+ ${cmd[*]}" | tee -a "$CMDS"
  $NICE "${cmd[@]}"
}
BIG=$MODELS/synth70b
SMALL2=$MODELS/synth-small-2l
SMALL8=$MODELS/synth-small-8l
gen "$BIG" --hidden 8192 --intermediate 28672 --heads 64 --kv-heads 8 --layers 2
gen "$SMALL2" --hidden 2048 --intermediate 5632 --heads 16 --kv-heads 4 --layers 2
gen "$SMALL8" --hidden 2048 --intermediate 5632 --heads 16 --kv-heads 4 --layers 8
du -sh "$BIG" "$SMALL2" "$SMALL8"

# One quantize run under bench/memwatch.py (RSS sampling + low-memory kill) and /usr/bin/time -v.
quantize() {
  local label=$1 np=$2 model=$3; shift 3
  local rd=$OUT/$label
  if [[ -f $rd/report.json ]]; then echo "== $label: $rd/report.json exists, not rerun"; return 0; fi
  if [[ -e $rd ]]; then mv "$rd" "$rd.failed.$(date +%s)"; fi
  local cmd=("$MACA" quantize -c configs/gptq-w4g128.yaml --set "model.path=$model"
    --set "calib.data=$model/calib.tokens" --set calib.n_samples=4 --set calib.seq_len=256
    --set eval.fp=false --set eval.quantized=false --set export.gptq=false --set export.fake_quant=false
    --set "quant.hessian_precision=$HPREC" --set "run.dir=$rd"
    --set quant.gptq.act_order=false --set quant.gptq.static_groups=false "$@")
  ((np > 1)) && cmd=(mpirun --oversubscribe -np "$np" "${cmd[@]}")
  echo "+ ${cmd[*]}" | tee -a "$CMDS"
  local rc=0
  $NICE python3 bench/memwatch.py --out "$rd.memwatch.json" --min-avail-mb "$MIN_AVAIL_MB" -- \
    /usr/bin/time -v "${cmd[@]}" >"$rd.log" 2>&1 || rc=$?
  grep -E 'block [0-9]+/|done in|Maximum resident|Elapsed|memwatch|error|Error' "$rd.log" | tail -12 || true
  echo "== $label: exit $rc"
  return 0
}

SKIP_DOWN='quant.skip=[lm_head,*.mlp.down_proj]'
if [[ " $RUNS " == *" small "* ]]; then
  quantize small-2l-p1 1 "$SMALL2"
  quantize small-8l-p1 1 "$SMALL8"
fi
if [[ " $RUNS " == *" 70b "* ]]; then
  quantize 70b-p1 1 "$BIG" --set "$SKIP_DOWN"
  quantize 70b-p2 2 "$BIG" --set "$SKIP_DOWN"
  if [[ $TRY_DOWN == 1 ]]; then quantize 70b-p1-down 1 "$BIG"; fi
fi
if [[ " $RUNS " == *" down "* ]]; then
  quantize 70b-p2-owner-down 2 "$BIG" --set run.partition=owner
fi
if [[ " $RUNS " == *" rowsdown "* ]]; then  # rows mode, the factor shared on the node (run.node_share)
  quantize 70b-p2-rows-down 2 "$BIG"
fi

echo
echo "== commands"
cat "$CMDS"
echo
runs=()
for l in 70b-p1 70b-p2 70b-p2-owner-down 70b-p2-rows-down small-2l-p1 small-8l-p1 70b-p1-down; do
  [[ -f $OUT/$l/report.json ]] && runs+=("$l=$OUT/$l")
done
python3 bench/collect_scale.py memory ${PAGES_KEPT:+--pages-kept} "${runs[@]}"
if [[ $TRY_DOWN == 1 && ! -f $OUT/70b-p1-down/report.json ]]; then
  echo
  echo "70b-p1-down did not finish; memwatch:"
  python3 - "$OUT/70b-p1-down.memwatch.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
print("killed:", m["killed"], "| returncode", m["returncode"], "| min MemAvailable %.2f GiB" % (m["min_mem_available_bytes"] / 2**30))
for p in m["processes"]:
    print("pid %d: max RssAnon %.2f GiB, max RssFile %.2f GiB, VmHWM %.2f GiB" % (p["pid"], p["max_RssAnon"] / 2**30, p["max_RssFile"] / 2**30, p["VmHWM"] / 2**30))
EOF
fi
