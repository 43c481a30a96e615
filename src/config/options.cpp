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
  s.add({"run.log_level", std::string("info"), "log verbosity",
         one_of({"trace", "debug", "info", "warn", "error", "off"})});
  s.add({"run.dir", std::string(""), "directory for this run's outputs (config.resolved.yaml and, for eval, eval.json); empty: none"});
}

void declare_model_options(Schema& s) {
  s.add({"model.path", std::string("smollm2-135m"),
         "the model: an HF directory, a .gguf file, or a short name (smollm2-135m, gemma3-270m) looked up in "
         "$MACA_MODEL_DIR and ~/.cache/maca/models"});
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
  s.add({"eval.batch_tokens", std::int64_t{8192}, "tokens per forward batch (windows are batched up to this)",
         at_least(1)});
}

void declare_inspect_options(Schema& s) {
  s.add({"inspect.tensors", false, "list every tensor with its shape"});
}

const Schema& builtin_schema() {
  static const Schema schema = [] {
    Schema s;
    declare_run_options(s);
    declare_model_options(s);
    declare_data_options(s);
    declare_eval_options(s);
    declare_inspect_options(s);
    return s;
  }();
  return schema;
}

}  // namespace maca::config
