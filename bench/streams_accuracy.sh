#!/bin/bash
# calib.max_resident_gb (issue 13, item 4): quality and cost of the overflow forms. Usage: bench/streams_accuracy.sh [OUT] (default /work/streams-acc).
# Needs python3 with numpy, safetensors and pyyaml for the same-weights comparison (PYTHON=, default python3).
# SmolLM2-135M, 16 x 2048 C4 calibration tokens, streams in f32 (no limit),
# spilled, or in bf16 past calib.max_resident_gb = 0.01 (about 4.6k tokens of f32 per batch).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd); B=${BUILD:-$ROOT/build}/src/maca; O=$(realpath -m "${1:-/work/streams-acc}"); PY=${PYTHON:-python3}; mkdir -p "$O"; cd "$ROOT"
echo "# $(date '+%F %T') $(lscpu | grep 'Model name' | sed 's/  */ /g'), $(nproc) cores, maca $(git rev-parse --short HEAD)"
run() {
  local name=$1; shift
  if [[ -f $O/$name/report.json ]]; then echo "$name exists"; return; fi
  rm -rf $O/$name
  local cmd=($B quantize -c configs/gptq-w4g128.yaml --set calib.n_samples=16 --set eval.max_windows=16 --set run.dir=$O/$name "$@")
  echo "+ ${cmd[*]}"
  /usr/bin/time -f "$name: %e s wall, %M KB peak RSS" "${cmd[@]}" > $O/$name.log 2>&1
  tail -1 $O/$name.log
}
for bits in 4 3; do
  g=$([[ $bits == 4 ]] && echo 128 || echo 64)
  q="--set quant.bits=$bits --set quant.group_size=$g"
  run w${bits}-f32 $q
  run w${bits}-spill $q --set calib.max_resident_gb=0.01 --set eval.fp=false
  run w${bits}-bf16 $q --set calib.max_resident_gb=0.01 --set calib.overflow=bf16 --set eval.fp=false
done
for r in $O/w*/report.json; do python3 - "$r" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); e = r.get("eval", {})
st = r["stages"]
print(sys.argv[1].split("/")[-2], "FP %.4f" % e.get("fp", {}).get("ppl", float("nan")), "quantized %.4f" % e["quantized"]["ppl"],
      "| calibration+blocks %.1f s" % (st.get("total_s", 0) - e.get("fp", {}).get("seconds", 0) - e["quantized"].get("seconds", 0)))
PY
done
for bits in 4 3; do
  sha256sum $O/w${bits}-f32/fake_quant/model.safetensors $O/w${bits}-spill/fake_quant/model.safetensors | awk '{print $1}' | uniq | wc -l | sed "s/^/w$bits f32 vs spill: distinct hashes /"
  $PY bench/collect_scale.py same-weights $O/w${bits}-f32 $O/w${bits}-bf16 | sed "s/^/w$bits f32 vs bf16: /"
done
