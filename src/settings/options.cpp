#include "settings/options.h"

#include "core/error.h"
#include "faq/options.h"
#include "gen/options.h"
#include "quant/method.h"

namespace maca::config {

void declare_run_options(Schema& s) {
  s.add({"run.device", std::string("auto"), "where to compute: cpu, cuda, cuda:N, or auto (the CPU for now: the CUDA path has not passed its GPU check, bench/gpu/check.sh, so a GPU runs only when named; with several ranks per node each rank takes its own GPU)",
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
         "rounds a contiguous row slice of every layer, so every node holds each group's factor: once with "
         "run.node_share, else once per rank) or owner "
         "(whole layers per rank, balanced by cost; a group's statistics go only to the ranks that own its layers, so "
         "the others never hold its Hessian: the way to fit wide layers such as a 70B down_proj)",
         one_of({"rows", "owner"})});
  s.add({"run.node_share", true, "rows mode on CPUs: the ranks of a node keep one copy of each layer group's "
         "prepared statistics (damped factors, D), made by the node's first rank in an MPI shared-memory window "
         "(backed by /dev/shm) while the others wait, instead of one copy per rank; the node's other ranks never "
         "hold the group's Hessian. Same results either way; when /dev/shm lacks room a warning says so and every "
         "rank keeps its own copy"});
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
  s.add({"calib.max_resident_gb", 0.0,
         "GiB of f32 calibration streams (hidden states, one or two streams) a rank may hold in memory; 0: no limit. "
         "Past it, batches are made to fit it (when calib.batch_tokens is 0) and each batch waits between blocks in "
         "the calib.overflow form, at the cost of re-running each block once per linear group",
         at_least(0)});
  s.add({"calib.overflow", std::string("spill"),
         "where batches wait past calib.max_resident_gb: spill (an unlinked scratch file under run.dir; exact, the "
         "results do not change) or bf16 (in memory at half the bytes; not bit-exact: the rounding moves about as "
         "much as with f32 statistics, and whether it applies depends on the tokens per rank, so compare bf16 runs "
         "at the same rank count)",
         one_of({"spill", "bf16"})});
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
    quant::declare_options(s);
    declare_export_options(s);
    gen::declare_options(s);
    faq::declare_options(s);
    declare_inspect_options(s);
    declare_sweep_options(s);
    return s;
  }();
  return schema;
}

}  // namespace maca::config
