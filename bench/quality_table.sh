#!/usr/bin/env bash
# The quality table of docs/results.md: WikiText-2 test perplexity (ctx 2048)
# of RTN, GPTQ, GPTAQ, GPTQ+MaCa(prefix) and GPTQ+MaCa(crops), calibrated on
# the C4 train sample, for the bit settings and seeds given, plus the
# full-precision model on the same windows. Each run writes
# OUT/<model>/<method>-<setting>-s<seed>/report.json; bench/collect_quality.py
# turns them into the Markdown table (mean ± sd over seeds, wall time, peak RSS).
#
#   bench/quality_table.sh OUT MODEL "w3g128 w2g64 w4g128" "0 1 2" N_SAMPLES MAX_WINDOWS [METHODS]
#   e.g. bench/quality_table.sh runs/quality smollm2-135m "w3g128" "0" 16 8
# Group sizes that do not divide a layer (SmolLM2: 576 at g128) use quant.partial_groups.
#
# Runs that already have a report.json are skipped, so the script can be
# re-run after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1 model=$2 settings=$3 seeds=$4 n=$5 windows=$6
methods=${7:-"rtn gptq gptaq maca-prefix maca-crops"}
maca=${MACA:-build/src/maca}  # the binary (MACA=... to use another build)
common=(--model "$model" --n-samples "$n" --max-windows "$windows" --set quant.partial_groups=true)

run() {  # dir, extra args...
  local dir=$1; shift
  if [[ -f $dir/report.json ]]; then echo "skip $dir (done)"; return; fi
  rm -rf "$dir"
  echo "=== $dir"
  "$maca" quantize "${common[@]}" --run-dir "$dir" --set eval.fp=false --set export.gptq=false "$@" \
    > "$dir.log" 2>&1 || { echo "FAILED: $dir (log: $dir.log)"; tail -5 "$dir.log"; }
}

mkdir -p "$out/$model"
if [[ ! -f $out/$model/fp/eval.json ]]; then
  "$maca" eval --model "$model" --max-windows "$windows" --set "run.dir=$out/$model/fp" > "$out/$model/fp.log" 2>&1
fi
for setting in $settings; do
  bits=${setting#w}; bits=${bits%g*}; group=${setting#*g}
  for seed in $seeds; do
    for m in $methods; do
      args=(--bits "$bits" --group-size "$group" --seed "$seed")
      case $m in
        rtn) [[ $seed == "${seeds%% *}" ]] || continue; run "$out/$model/rtn-$setting" --method rtn "${args[@]}" ;;
        gptq|gptaq) run "$out/$model/$m-$setting-s$seed" --method "$m" "${args[@]}" ;;
        maca-prefix|maca-crops)
          run "$out/$model/$m-$setting-s$seed" --method gptq --sampler maca --set "calib.maca.mode=${m#maca-}" "${args[@]}" ;;
      esac
    done
  done
done
python3 bench/collect_quality.py "$out"
