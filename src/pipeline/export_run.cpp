#include "pipeline/export_run.h"

#include <map>

#include "core/error.h"
#include "core/log.h"
#include "core/timer.h"
#include "io/gguf.h"
#include "io/gptq_export.h"
#include "io/layer_provider.h"
#include "quant/quantize.h"
#include "tokenizer/hf_tokenizer_writer.h"

namespace maca::pipeline {
namespace {

// The rounded layers straight from the block files, one block in memory.
class CheckpointLayers final : public io::LayerProvider {
 public:
  CheckpointLayers(const RunCheckpoint& ck, int n_blocks) : ck_(ck), n_blocks_(n_blocks) {}

  std::vector<io::LayerInfo> layers() const override {
    std::vector<io::LayerInfo> out;
    for (int b = 0; b < n_blocks_; ++b)
      for (const auto& [name, q] : ck_.load_headers(b).layers) {
        out.push_back(io::LayerInfo::of(name, q));
        block_of_[name] = b;
      }
    return out;
  }

  QuantizedLinear get(const std::string& name) override {
    const int b = block_of_.at(name);
    if (b != cached_) {
      cache_.clear();
      for (auto& [n, q] : ck_.load(b).layers) cache_.emplace(n, std::move(q));
      cached_ = b;
    }
    auto node = cache_.extract(name);
    MACA_ASSERT(!node.empty(), "layer {} of block {} was already exported or is missing", name, b);
    return std::move(node.mapped());
  }

 private:
  const RunCheckpoint& ck_;
  int n_blocks_;
  mutable std::map<std::string, int> block_of_;
  int cached_ = -1;
  std::map<std::string, QuantizedLinear> cache_;
};

// A .gguf source carries its tokenizer in its metadata: both outputs get it as
// HF files, so they load without the .gguf (a "<stem>.tokenizer.json" beside
// the .gguf, which the export copies, takes precedence). A tokenizer maca
// cannot build costs the outputs their tokenizer files, not the export.
io::TokenizerFiles tokenizer_files(const io::ModelSource& source) {
  const std::filesystem::path location = source.location();
  if (location.extension() != ".gguf" || !std::filesystem::is_regular_file(location)) return {};
  try {
    return tokenizer::hf_tokenizer_files(*io::GgufFile::open(location));
  } catch (const FileError& e) {
    spdlog::warn("export: cannot write the tokenizer of '{}' as HF files: {}", location.string(), e.what());
    return {};
  }
}

}  // namespace

nlohmann::json export_run(const config::Config& cfg, const io::ModelSource& source, const RunCheckpoint& ck,
                          int n_blocks, const std::filesystem::path& run_dir) {
  MACA_CHECK(ck.finished() == n_blocks, "the checkpoint in '{}' holds blocks 0..{} of {}; run `maca quantize` with "
             "the same config and run.dir to finish it before exporting", ck.dir().string(), ck.finished() - 1,
             n_blocks);
  Timer t;

  const auto dtype = [](const std::string& name) { return name == "float32" ? DType::F32 : DType::F16; };
  const bool any_output = cfg.get_bool("export.gptq") || cfg.get_bool("export.fake_quant");
  const io::TokenizerFiles tokenizer = any_output ? tokenizer_files(source) : io::TokenizerFiles{};
  nlohmann::json outputs = nlohmann::json::object();
  if (cfg.get_bool("export.gptq")) {
    io::GptqExportOptions ex;
    ex.dtype = dtype(cfg.get_string("export.dtype"));
    ex.true_sequential = cfg.get_bool("quant.true_sequential");
    ex.damp_percent = cfg.get_float("quant.damp");
    const std::string method = cfg.get_string("quant.method");
    ex.extra_meta = {{"method", method}, {"calib_sampler", method == "rtn" ? "none" : cfg.get_string("calib.sampler")}};
    ex.tokenizer_files = tokenizer;
    CheckpointLayers layers(ck, n_blocks);
    io::write_gptq_checkpoint(source, layers, run_dir / "gptq", ex);
    outputs["gptq"] = (run_dir / "gptq").string();
  }
  if (cfg.get_bool("export.fake_quant")) {
    CheckpointLayers layers(ck, n_blocks);
    io::write_fake_quant_checkpoint(source, layers, run_dir / "fake_quant",
                                    dtype(cfg.get_string("export.fake_quant_dtype")), io::kDefaultMaxShardBytes,
                                    tokenizer);
    outputs["fake_quant"] = (run_dir / "fake_quant").string();
  }
  spdlog::info("wrote {} in {}", outputs.dump(), format_duration(t.seconds()));
  return outputs;
}

}  // namespace maca::pipeline
