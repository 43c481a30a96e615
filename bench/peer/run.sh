#!/usr/bin/env bash
# maca next to a peer, in one run (issue 13, item 5): llm-compressor's
# GPTQModifier and `maca quantize` quantize SmolLM2-135M on the CPU with the
# same settings (W4, group 64, symmetric, no act-order, damp 0.01, block 128,
# group scales from the original weights before the loop: llm-compressor's
# observer fixes them up front, maca's quant.gptq.static_groups) on the same
# calibration token ids (16 × 2048 windows of the C4 sample, written once as
# a maca calibration set by bench/peer/peer.py) and the same weights (the GGUF
# dequantized by transformers into a Hugging Face directory, which both load,
# so that all three models below carry the same tokenizer files), each timed
# as a whole process (/usr/bin/time: wall, peak RSS). Both fake-quant models are then evaluated
# by the same evaluator (`maca eval`, WikiText-2 test, ctx 2048, the first
# WINDOWS windows), next to the full-precision model. Last, this machine's
# floor for the job: one forward of the calibration tokens through the blocks
# at the sgemm rate bench_forward measures (all threads), plus the statistics
# (Σ n² per token over the layer groups) at the rate bench_hessian measures,
# both in this run.
#
#   bench/peer/run.sh [OUT_DIR]       (default: runs/peer)
# Env: MACA (build/src/maca), BUILD (build), VENV (~/.cache/maca/peer-venv:
# llm-compressor and its torch are installed there on first use),
# SAMPLES (16), SEQ_LEN (2048), WINDOWS (16), THREADS (nproc).
# Prints a Markdown table and writes OUT_DIR/peer.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-runs/peer}
MACA=${MACA:-build/src/maca}
BUILD=${BUILD:-build}
VENV=${VENV:-$HOME/.cache/maca/peer-venv}
SAMPLES=${SAMPLES:-16} SEQ_LEN=${SEQ_LEN:-2048} WINDOWS=${WINDOWS:-16} THREADS=${THREADS:-$(nproc)}
LLMC_VERSION=${LLMC_VERSION:-0.14.0.1}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c "import llmcompressor" 2>/dev/null; then
  echo "installing llm-compressor $LLMC_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "llmcompressor==$LLMC_VERSION" gguf
fi
PY=$VENV/bin/python
python3 scripts/fetch_models.py smollm2-135m >/dev/null
GGUF=${MACA_MODEL_DIR:-$HOME/.cache/maca/models}/SmolLM2-135M-Instruct.Q4_1.gguf

{
  echo "command: $0 $*"
  echo "date: $(date -u +%FT%TZ)"
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "maca: $(git rev-parse --short HEAD 2>/dev/null || echo unknown); llm-compressor: $("$PY" -c 'import llmcompressor; print(llmcompressor.__version__)' 2>/dev/null | tail -1), torch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null | tail -1)"
} | tee "$OUT/machine.txt"

timed() {  # timed NAME CMD...: whole-process wall and peak RSS into OUT/NAME.time
  local name=$1
  shift
  echo "+ $*"
  /usr/bin/time -f "%e %M" -o "$OUT/$name.time" "$@" >"$OUT/$name.log" 2>&1 ||
    { echo "$name failed, see $OUT/$name.log"; tail -20 "$OUT/$name.log"; exit 1; }
}

"$PY" bench/peer/peer.py prepare "$GGUF" "$OUT" --samples "$SAMPLES" --seq-len "$SEQ_LEN"

rm -rf "$OUT/maca"
timed maca "$MACA" quantize --model "$OUT/hf-fp32" --method gptq --bits 4 --group-size 64 \
  --set quant.sym=true --set quant.damp=0.01 --set quant.gptq.act_order=false --set quant.gptq.static_groups=true \
  --set quant.gptq.block_size=128 \
  --set calib.data="$OUT/calib-set.json" --set run.threads="$THREADS" \
  --set eval.fp=false --set eval.quantized=false --set export.gptq=false --run-dir "$OUT/maca"
timed llmc "$PY" bench/peer/peer.py quantize "$OUT" --bits 4 --group 64 --sym --damp 0.01 --threads "$THREADS"

for m in fp:"$OUT/hf-fp32" maca:"$OUT/maca/fake_quant" llmc:"$OUT/llmc-fake-quant"; do
  "$MACA" eval --model "${m#*:}" --ctx 2048 --max-windows "$WINDOWS" --set run.threads="$THREADS" \
    >"$OUT/eval-${m%%:*}.log" 2>&1 || { echo "eval of ${m#*:} failed"; tail -5 "$OUT/eval-${m%%:*}.log"; exit 1; }
done

"$BUILD/bench/bench_forward" smollm2-135m --ctx 2048 --windows 2 >"$OUT/bench_forward.txt" 2>&1
"$BUILD/bench/bench_hessian" 576 2048 4 f64 >"$OUT/bench_hessian_576.txt" 2>&1
"$BUILD/bench/bench_hessian" 1536 2048 4 f64 >"$OUT/bench_hessian_1536.txt" 2>&1

python3 - "$OUT" "$SAMPLES" "$SEQ_LEN" <<'PY'
import json, pathlib, re, sys
out, samples, seq_len = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def timing(name):
    wall, kb = (out / f"{name}.time").read_text().split()[-2:]
    return float(wall), int(kb) / 1024
def ppl(name):
    m = re.findall(r"ppl[ =:]+([0-9.]+)", (out / f"eval-{name}.log").read_text(), re.I)
    return float(m[-1]) if m else float("nan")
cfg = json.loads((out / "hf-fp32" / "config.json").read_text())
h, f, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
heads, kvh = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
hd = cfg.get("head_dim") or h // heads
q, kv = heads * hd, kvh * hd
fwd = (out / "bench_forward.txt").read_text()
sgemm = max(float(x) for x in re.findall(r"([0-9.]+) GFLOP/s at", fwd))
rate = {n: float(re.search(r"([0-9.]+) GFLOP/s", (out / f"bench_hessian_{n}.txt").read_text()).group(1))
        for n in (576, 1536)}
T, tokens = seq_len, samples * seq_len
per_layer = 2 * (h * (q + 2 * kv) + q * h + 3 * h * f) * T + 4 * (T * (T + 1) / 2) * hd * heads
forward_s = samples * L * per_layer / (sgemm * 1e9)
# statistics: one Gram per layer group and token, n² each: qkv and gate_up read the hidden state, o the
# attention output, down the MLP's inner activations; each at the rate measured for its width.
groups = [h, q, h, f]
stats_s = sum(tokens * n * n / (rate[576 if n < 1000 else 1536] * 1e9) for n in groups) * L
floor = forward_s + stats_s
mw, mr = timing("maca")
lw, lr = timing("llmc")
res = {"maca": {"wall_s": mw, "peak_rss_mib": mr, "ppl": ppl("maca")},
       "llm_compressor": {"wall_s": lw, "peak_rss_mib": lr, "ppl": ppl("llmc")},
       "fp_ppl": ppl("fp"), "floor_s": floor, "floor_forward_s": forward_s, "floor_statistics_s": stats_s,
       "sgemm_gflops": sgemm, "hessian_gflops": rate, "speedup": lw / mw, "maca_over_floor": mw / floor}
(out / "peer.json").write_text(json.dumps(res, indent=2))
print("\n| tool | wall s | peak RSS MiB | WikiText-2 PPL |\n|---|---:|---:|---:|")
print(f"| maca | {mw:.1f} | {mr:.0f} | {res['maca']['ppl']:.4f} |")
print(f"| llm-compressor | {lw:.1f} | {lr:.0f} | {res['llm_compressor']['ppl']:.4f} |")
print(f"| full precision | | | {res['fp_ppl']:.4f} |")
print(f"\nmaca is {lw / mw:.1f}x faster end to end; floor {floor:.1f} s (forward {forward_s:.1f} s at "
      f"{sgemm:.1f} GFLOP/s + statistics {stats_s:.1f} s at {rate[576]:.1f}/{rate[1536]:.1f} GFLOP/s), "
      f"maca at {mw / floor:.2f}x the floor")
PY
