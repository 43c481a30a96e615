#include "pipeline/export_job.h"

#include <fmt/ranges.h>

#include "checkpoint/fingerprint.h"
#include "config/config.h"
#include "settings/options.h"
#include "config/search.h"
#include "core/error.h"
#include "core/log.h"
#include "io/model_source.h"
#include "model/spec.h"
#include "pipeline/export_run.h"
#include "pipeline/run_checkpoint.h"

namespace maca::pipeline {
namespace {

namespace fs = std::filesystem;

// The run's config with the command line's export.* choices on top.
config::Config run_config(const fs::path& run_dir, const config::Config& cmd) {
  const fs::path file = run_dir / "config.resolved.yaml";
  if (!fs::exists(file))
    MACA_THROW(FileError, "'{}' has no config.resolved.yaml; give the run.dir of a `maca quantize` run",
               run_dir.string());
  config::Config cfg = config::resolve(config::builtin_schema(), file, {});
  for (const config::Option& o : config::builtin_schema().options())
    if (o.key.starts_with("export.") && cmd.source(o.key) != "default")
      cfg.set(o.key, config::format_value(cmd.value(o.key)), cmd.source(o.key));
  return cfg;
}

// The model files must be the ones the run quantized.
void check_model(const fs::path& run_dir, const config::Config& cfg, const io::ModelSource& source) {
  const std::optional<checkpoint::Fingerprint> stored = checkpoint::read_fingerprint(run_dir);
  MACA_CHECK(stored.has_value(), "'{}' has no fingerprint file; it is not a quantize run directory", run_dir.string());
  const checkpoint::Fingerprint now = checkpoint::make_fingerprint(cfg, source.files(), "");
  MACA_CHECK(stored->parts.contains("model"), "the fingerprint of '{}' has no model part", run_dir.string());
  checkpoint::Fingerprint a, b;
  a.parts["model"] = stored->parts.at("model");
  b.parts["model"] = now.parts.at("model");
  const std::vector<std::string> diff = checkpoint::differences(a, b);
  if (!diff.empty())
    MACA_THROW(FileError, "the model at '{}' is not the one run '{}' quantized:\n  {}\nPoint model.path in {} to "
               "the original model files", cfg.get_string("model.path"), run_dir.string(), fmt::join(diff, "\n  "),
               (run_dir / "config.resolved.yaml").string());
}

}  // namespace

fs::path run_export(const config::Config& cmd) {
  const fs::path run_dir = cmd.get_string("run.dir");
  MACA_CHECK(!run_dir.empty(), "maca export needs the run directory: maca export RUN_DIR");
  const config::Config cfg = run_config(run_dir, cmd);
  const auto model_path = config::find_model(cfg.get_string("model.path"));
  const auto source = io::open_model(model_path);
  check_model(run_dir, cfg, *source);
  const int n_blocks = static_cast<int>(model::ModelSpec::from_hf_config(source->config(), model_path.string()).n_layers);
  const RunCheckpoint ck = RunCheckpoint::open_finished(run_dir);
  spdlog::info("exporting {} ({} blocks from {}) with the model {}", run_dir.string(), n_blocks, ck.dir().string(),
               model_path.string());
  export_run(cfg, *source, ck, n_blocks, run_dir);
  return run_dir;
}

}  // namespace maca::pipeline
