#include "config/options.h"

#include "core/error.h"

namespace maca::config {

void declare_run_options(Schema& s) {
  s.add({"run.device", std::string("auto"), "where to compute: cpu, cuda, cuda:N, or auto (the forward pass has CPU kernels only so far, so auto means cpu)",
         Check{[](const Value& v) {
                 const auto& d = std::get<std::string>(v);
                 const bool ok = d == "cpu" || d == "cuda" || d == "auto" ||
                                 (d.starts_with("cuda:") && d.size() > 5 &&
                                  d.find_first_not_of("0123456789", 5) == std::string::npos);
                 return ok ? std::string() : fmt::format("'{}' is not one of cpu|cuda|cuda:N|auto", d);
               },
               "cpu|cuda|cuda:N|auto"}});
  s.add({"run.threads", std::int64_t{0}, "CPU threads for BLAS/OpenMP; 0 keeps the library default (all cores)",
         at_least(0)});
  s.add({"run.partition", std::string("rows"), "how ranks share the rounding of a layer group: rows (every rank "
         "rounds a contiguous row slice of every layer) or owner (whole layers per rank, balanced by cost)",
         one_of({"rows", "owner"})});
  s.add({"run.resume", true, "quantize: continue from the checkpoint in run.dir when it holds finished blocks "
         "with any rank count (refused with the reason when the config, model or calibration set differ); false: refuse to "
         "reuse a run directory that holds a checkpoint"});
  s.add({"run.log_level", std::string("info"), "log verbosity",
         one_of({"trace", "debug", "info", "warn", "error", "off"})});
  s.add({"run.dir", std::string(""), "directory for this run's outputs: config.resolved.yaml, and eval.json (eval) or gptq/, "
         "fake_quant/, report.json (quantize); empty: none for eval, runs/quantize-<date>-<time> for quantize"});
}

void declare_model_options(Schema& s) {
  s.add({"model.path", std::string("smollm2-135m"),
         "the model: an HF directory, a .gguf file, or a short name (smollm2-135m, gemma3-270m, "
         "qwen2.5-coder-0.5b, qwen2.5-coder-1.5b) looked up in $MACA_MODEL_DIR and ~/.cache/maca/models"});
}

void declare_data_options(Schema& s) {
  s.add({"data.search_path", StringList{},
         "extra directories searched for data files (after $MACA_DATA_DIR, before ../shared/data and "
         "~/.cache/maca/data)"});
}

void declare_eval_options(Schema& s) {
  s.add({"eval.data", std::string("wikitext-2-raw/wiki.test.raw"),
         "evaluation text: a path, or a name found on the data search path"});
  s.add({"eval.format", std::string("auto"),
         "how the text is read: wikitext (HF rows joined by blank lines), jsonl (the 'text' field), raw, or auto "
         "(by file name)",
         one_of({"auto", "wikitext", "jsonl", "raw"})});
  s.add({"eval.ctx", std::int64_t{2048}, "tokens per perplexity window", in_range(1, 1 << 20)});
  s.add({"eval.max_windows", std::int64_t{0}, "evaluate at most this many windows; 0: all", at_least(0)});
  s.add({"eval.fp", true, "quantize: also evaluate the full-precision model (report.json keeps both)"});
  s.add({"eval.quantized", true, "quantize: evaluate the quantized model after export (from run.dir/fake_quant)"});
  s.add({"eval.batch_tokens", std::int64_t{8192}, "tokens per forward batch (windows are batched up to this)",
         at_least(1)});
}

void declare_calib_options(Schema& s) {
  s.add({"calib.data", std::string("c4-sample/c4-en-train.00000-of-01024.first1000.jsonl"),
         "calibration text (raw or jsonl 'text' field) or pre-tokenized ids (.tokens/.i32: little-endian int32): a "
         "path, or a name found on the data search path"});
  s.add({"calib.format", std::string("auto"),
         "how calibration text is read: jsonl, raw, wikitext, or auto (by file name); token files are recognized by "
         "their extension",
         one_of({"auto", "wikitext", "jsonl", "raw"})});
  s.add({"calib.sampler", std::string("fixed"),
         "fixed: n_samples random crops of seq_len tokens; maca: multi-scale calibration (calib.maca.*)",
         one_of({"fixed", "maca"})});
  s.add({"calib.n_samples", std::int64_t{128}, "calibration sequences (maca crops: the token budget is "
                                                "n_samples x the longest length)", in_range(1, 1 << 20)});
  s.add({"calib.seq_len", std::int64_t{2048}, "tokens per calibration sequence (fixed sampler); with the maca sampler it must equal the "
                                               "longest of calib.maca.lengths", in_range(1, 1 << 20)});
  s.add({"calib.seed", std::int64_t{0}, "seed of the crop positions; the same seed gives the same set", at_least(0)});
  s.add({"calib.maca.mode", std::string("prefix"),
         "prefix: one pass over sequences of the longest length with position weights w(t); crops: separate crops "
         "of every length, each normalized by its length",
         one_of({"prefix", "crops"})});
  s.add({"calib.maca.lengths", IntList{128, 256, 512, 1024, 2048},
         "the sequence lengths of the multi-scale Hessian, strictly increasing"});
  s.add({"calib.maca.weights", FloatList{}, "weight of each length (same count as lengths); empty: uniform"});
  s.add({"calib.maca.normalize", std::string("sequence"),
         "sequence: every sequence is one sample (its Gram matrix divided by its length); token: every token counts "
         "the same (ablation)",
         one_of({"sequence", "token"})});
  s.add({"calib.batch_tokens", std::int64_t{0},
         "tokens forwarded at once through a block; 0: all calibration sequences in one batch (fastest; working "
         "memory about tokens x (2 hidden + 3 intermediate) x 4 bytes); smaller values bound memory at the cost of "
         "re-running each block once per linear group",
         at_least(0)});
}

void declare_quant_options(Schema& s) {
  s.add({"quant.method", std::string("gptq"),
         "rtn: round to nearest; gptq: error feedback through the Hessian; gptaq: gptq towards the full-precision "
         "model's outputs (asymmetric, quant.alpha)",
         one_of({"rtn", "gptq", "gptaq"})});
  s.add({"quant.bits", std::int64_t{4}, "bits per weight",
         Check{[](const Value& v) {
                 const auto b = std::get<std::int64_t>(v);
                 return b == 2 || b == 3 || b == 4 || b == 8 ? std::string()
                                                               : fmt::format("{} bits is not supported", b);
               },
               "2|3|4|8"}});
  s.add({"quant.group_size", std::int64_t{128},
         "input columns sharing one scale/zero; -1: one per output row. A value given explicitly must divide "
         "every layer's input size unless quant.partial_groups is set; left at the default, a model whose input "
         "sizes 128 does not divide (SmolLM2: 576) gets the largest of 64 and 32 that divides them all, logged and "
         "recorded in config.resolved.yaml",
         Check{[](const Value& v) {
                 const auto g = std::get<std::int64_t>(v);
                 return g == -1 || g > 0 ? std::string() : fmt::format("group size {} is neither -1 nor positive", g);
               },
               "-1 or a positive divisor of the input size"}});
  s.add({"quant.partial_groups", false,
         "allow a group size that does not divide a layer's input size: every row ends with a shorter group "
         "(ceil(cols/g) groups), as the GPTQ reference does; transformers/GPTQModel load it, vLLM refuses it"});
  s.add({"quant.sym", true, "symmetric grid (zero point in the middle); false: asymmetric min-max grid"});
  s.add({"quant.act_order", false, "round columns in order of decreasing Hessian diagonal (desc_act)"});
  s.add({"quant.static_groups", false, "with act_order: fix the groups in the original column order first"});
  s.add({"quant.damp", 0.01, "relative damping: lambda x mean(diag H) is added to the diagonal",
         in_range(1e-9, 0.999999)});
  s.add({"quant.damp_retries", std::int64_t{6},
         "when a Cholesky factorization fails, damping is multiplied by 10 and retried at most this many times",
         in_range(0, 20)});
  s.add({"quant.block_size", std::int64_t{128}, "GPTQ lazy-batch width in columns", in_range(1, 1 << 16)});
  s.add({"quant.scale_rounding", std::string("nearest"),
         "how each group's scale is stored (codes always use the stored scale; docs/results.md: down is "
         "best for RTN, nearest for GPTQ so far): the nearest fp16 value, "
         "up (the smallest fp16 value >= the min-max scale, so the group's extreme weight never rounds "
         "outward past its tie), down (the largest <= it), best (of down and up, the one with the smaller "
         "squared error over the group), or f32 (not fp16-exact: the float32 scale the GPTQ reference rounds "
         "with; fake_quant matches the codes, the GPTQ export's fp16 scales then dequantize slightly differently)",
         one_of({"nearest", "up", "down", "best", "f32"})});
  s.add({"quant.group_params", std::string("current"),
         "GPTQ dynamic groups: scale/zero from the group's columns with all error updates so far (current), or "
         "as they were when the enclosing lazy block began (block_start: the GPTQ reference's behaviour; then "
         "quant.block_size changes results)",
         one_of({"current", "block_start"})});
  s.add({"quant.clip", false, "search a shrunk range per group that minimizes |w - q(w)|^2.4 (GPTQ's mse option)"});
  s.add({"quant.alpha", 0.25, "gptaq: weight of the full-precision stream in the target (0 = gptq, 1 = fully "
                              "asymmetric)", in_range(0, 1)});
  s.add({"quant.true_sequential", true,
         "quantize q/k/v, then o, then gate/up, then down, each seeing the already-quantized earlier groups"});
  s.add({"quant.hessian_precision", std::string("f64"), "accumulation precision of H (and D). f64 (default) makes "
         "the result independent of how the calibration rows are split over ranks: GPTQ's error feedback turns f32 "
         "summation-order differences into different codes for most weights (measured on SmolLM2: 32 % identical "
         "codes between 1 and 2 ranks with f32, 100 % with f64). f32 halves the statistics' memory (n² × 4 bytes "
         "per group: 3.3 GB for a 28672-wide down_proj)",
         one_of({"f32", "f64"})});
  s.add({"quant.skip", StringList{"lm_head"},
         "layer-name patterns (* and ? wildcards, e.g. '*.down_proj' or 'model.layers.0.*') kept in full precision; "
         "embeddings and lm_head are never quantized"});
}

void declare_export_options(Schema& s) {
  s.add({"export.gptq", true, "write the GPTQ checkpoint (run.dir/gptq) that transformers/GPTQModel/vLLM load"});
  s.add({"export.fake_quant", true,
         "write dequantized weights (run.dir/fake_quant) that maca eval and transformers load"});
  s.add({"export.dtype", std::string("float16"),
         "dtype of the non-quantized tensors in the GPTQ checkpoint (scales are float16 always)",
         one_of({"float16", "float32"})});
  s.add({"export.fake_quant_dtype", std::string("float32"), "dtype of the fake-quant weights",
         one_of({"float16", "float32"})});
}

void declare_inspect_options(Schema& s) {
  s.add({"inspect.tensors", false, "list every tensor with its shape"});
}

void declare_sweep_options(Schema& s) {
  s.add({"sweep.file", std::string(""), "the sweep definition (jobs/*.yaml, format in jobs/README.md); the bare "
         "argument of `maca sweep`"});
  s.add({"sweep.local", false, "run the points here, one after another, each as `maca quantize` (the default)"});
  s.add({"sweep.slurm", false, "write <out>/points and submit sweep.script as a Slurm array job, one task per point"});
  s.add({"sweep.collect", false, "run nothing; read every point's report.json into <out>/results.csv and "
         "<out>/results.md"});
  s.add({"sweep.dry_run", false, "print the commands (local) or the points file and the sbatch command (slurm); run "
         "and write nothing"});
  s.add({"sweep.out", std::string(""), "the sweep's output directory; empty: the sweep file's `out`, else "
         "runs/sweep-<name>"});
  s.add({"sweep.sbatch_args", std::string(""), "extra sbatch arguments, split at spaces, e.g. "
         "--sbatch-args='--partition=gpu --time=4:00:00'"});
  s.add({"sweep.script", std::string("slurm/sweep.sbatch"), "the array job script; a relative path is looked up "
         "beside the sweep file, in the folder above it, then in the current directory"});
}

const Schema& builtin_schema() {
  static const Schema schema = [] {
    Schema s;
    declare_run_options(s);
    declare_model_options(s);
    declare_data_options(s);
    declare_eval_options(s);
    declare_calib_options(s);
    declare_quant_options(s);
    declare_export_options(s);
    declare_inspect_options(s);
    declare_sweep_options(s);
    return s;
  }();
  return schema;
}

}  // namespace maca::config
