#!/usr/bin/env bash
# Bitwise determinism on a real model: SmolLM2-135M quantized with GPTQ at
# several (ranks, threads per rank) settings must give byte-identical gptq/
# and fake_quant/ exports and the same perplexity. Prints the machine, each
# command, its wall time, the sha256 of both exports and the PPL.
#
#   bench/determinism.sh OUT_DIR [MACA_BINARY]      (settings: SETTINGS="1x1 1x2 2x1")
# Env: N_SAMPLES (16), SEQ_LEN (512), WINDOWS (2), METHOD (gptq), EVAL (true).
set -euo pipefail
out=${1:?usage: bench/determinism.sh OUT_DIR [MACA_BINARY]}
maca=${2:-build/src/maca}
settings=${SETTINGS:-"1x1 1x2 2x1"}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(git rev-parse --short HEAD 2>/dev/null)"
for s in $settings; do
  p=${s%x*} t=${s#*x}
  run="$out/p${p}-t${t}"
  rm -rf "$run"
  cmd=(mpirun --oversubscribe --bind-to none -np "$p" "$maca" quantize -c configs/gptq-w4g128.yaml
       --run-dir "$run" --max-windows "${WINDOWS:-2}"
       --set quant.method="${METHOD:-gptq}" --set quant.group_size=64 --set quant.partial_groups=false
       --set quant.gptq.act_order=false --set quant.gptq.static_groups=false
       --set calib.n_samples="${N_SAMPLES:-16}" --set calib.seq_len="${SEQ_LEN:-512}"
       --set eval.fp=false --set eval.quantized="${EVAL:-true}" --set run.threads="$t")
  echo "+ ${cmd[*]}"
  start=$(date +%s.%N)
  "${cmd[@]}" >"$run.log" 2>&1 || { echo "failed, see $run.log"; tail -5 "$run.log"; exit 1; }
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  ppl=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1])).get('eval', {}).get('quantized', {}).get('ppl', '-'))" "$run/report.json")
  printf '%-6s wall %7.1f s  gptq %s  fake_quant %s  ppl %s\n' "$s" "$wall" \
    "$(sha256sum "$run/gptq/model.safetensors" | cut -c1-16)" \
    "$(sha256sum "$run/fake_quant/model.safetensors" | cut -c1-16)" "$ppl"
done
