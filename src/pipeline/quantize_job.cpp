#include "pipeline/quantize_job.h"

#include <unistd.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "backend/context.h"
#include "calib/sampler.h"
#include "calib/summary.h"
#include "calib/token_source.h"
#include "config/config.h"
#include "config/search.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/timer.h"
#include "eval/perplexity.h"
#include "io/gptq_export.h"
#include "io/model_source.h"
#include "pipeline/calib_batches.h"
#include "pipeline/job_options.h"
#include "tokenizer/tokenizer.h"

namespace maca::pipeline {
namespace {

using nlohmann::json;

double gib(int64_t bytes) { return static_cast<double>(bytes) / (1 << 30); }

// Writes `text` to `path` through a temporary name, so a crash leaves either
// the old file or the new one.
void write_atomic(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.close();
    if (!out)
      MACA_THROW(FileError, "cannot write '{}'; check that the run directory is writable and has space",
                 tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) MACA_THROW(FileError, "cannot rename '{}' to '{}': {}", tmp.string(), path.string(), ec.message());
}

void prepare_run_dir(const std::filesystem::path& dir, const config::Config& cfg) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) MACA_THROW(FileError, "cannot create run directory '{}': {}", dir.string(), ec.message());
  write_atomic(dir / "config.resolved.yaml", cfg.to_yaml());
}

json layer_json(const LayerRecord& r) {
  return {{"name", r.name}, {"rows", r.rows},       {"cols", r.cols},  {"skipped", r.skipped},
          {"loss", r.loss}, {"damp", r.damp},       {"alpha", r.alpha}, {"seconds", r.seconds}};
}

json ppl_json(const eval::PerplexityResult& r) {
  return {{"ppl", r.ppl},          {"mean_nll", r.mean_nll}, {"windows", r.windows},
          {"predicted_tokens", r.predicted_tokens}, {"seconds", r.seconds}};
}

// Perplexity of the model at `model_path` with the job's eval.* settings.
eval::PerplexityResult evaluate(const config::Config& cfg, const std::string& model_path, const char* what) {
  config::Config c = cfg;
  c.set("model.path", model_path, what);
  c.set("run.dir", "", what);
  spdlog::info("evaluating the {} model", what);
  return eval::run_perplexity(c);
}

}  // namespace

std::filesystem::path run_quantize(const config::Config& cfg) {
  Timer total;
  json stages = json::object();
  const std::string dev = cfg.get_string("run.device");
  const Device device = dev == "auto" ? Device::cpu() : backend::parse_device(dev);
  const auto ctx = backend::Context::create(device, static_cast<int>(cfg.get_int("run.threads")));

  // Everything that can be checked is checked before any work.
  const auto model_path = config::find_model(cfg.get_string("model.path"));
  const auto source = io::open_model(model_path);
  const model::Model model(*source, *ctx);
  const JobOptions opt = read_job_options(cfg, model.spec());
  prepare_run_dir(opt.run_dir, cfg);
  spdlog::info("quantize {} ({} blocks) with {} {}-bit group {} {} into {}", model_path.string(),
               model.spec().n_layers, quant::method_name(opt.block.quant.method), opt.block.quant.bits,
               opt.block.quant.group_size, opt.block.quant.sym ? "sym" : "asym", opt.run_dir.string());

  // Calibration set (RTN needs none).
  Timer t;
  calib::CalibSet set;
  json calib_json = nullptr;
  if (!opt.calib_data.empty()) {
    const std::vector<int32_t> stream =
        calib::is_token_file(opt.calib_data)
            ? calib::read_token_file(opt.calib_data, static_cast<int32_t>(model.spec().vocab))
            : calib::load_calibration_tokens(opt.calib_data, io::parse_text_format(opt.calib_format),
                                             tokenizer::load_tokenizer(model_path));
    set = calib::sample_calibration(stream, opt.sampler);
    const calib::CalibSummary summary = calib::summarize(set);
    spdlog::info("calibration: {} from {} ({} tokens)", calib::to_string(summary), opt.calib_data.string(),
                 stream.size());
    calib_json = {{"data", opt.calib_data.string()}, {"stream_tokens", stream.size()},
                  {"sequences", summary.sequences},  {"tokens", summary.tokens},
                  {"head_mass_fraction", summary.head_mass_fraction}, {"summary", calib::to_string(summary)}};
  }
  std::vector<CalibBatch> batches = make_calib_batches(model, set, opt.batch_tokens,
                                                       opt.block.quant.method == quant::Method::Gptaq);
  stages["calibration_s"] = t.seconds();
  if (!batches.empty())
    spdlog::info("calibration activations: {} batch(es), {:.2f} GiB", batches.size(), gib(activation_bytes(batches)));

  // The block loop.
  std::map<std::string, QuantizedLinear> layers;
  json layer_records = json::array(), block_records = json::array();
  Progress progress("quantize", model.spec().n_layers, "blocks");
  double forward_s = 0, hessian_s = 0, round_s = 0, load_s = 0;
  for (int b = 0; b < model.spec().n_layers; ++b) {
    Timer load;
    model::BlockWeights w = model.load_block(b);
    load_s += load.seconds();
    const BlockStats st = quantize_block(model, b, w, batches, opt.block, layers);
    double loss = 0;
    for (const auto& r : st.layers) {
      layer_records.push_back(layer_json(r));
      loss += r.loss;
    }
    block_records.push_back({{"block", b}, {"forward_s", st.forward_s}, {"hessian_s", st.hessian_s},
                             {"round_s", st.round_s}, {"loss", loss}});
    forward_s += st.forward_s;
    hessian_s += st.hessian_s;
    round_s += st.round_s;
    spdlog::info("block {}/{}: loss {:.4g} | forward {} hessian {} round {} | peak RSS {:.2f} GiB", b + 1,
                 model.spec().n_layers, loss, format_duration(st.forward_s), format_duration(st.hessian_s),
                 format_duration(st.round_s), gib(peak_rss_bytes()));
    progress.advance();
  }
  progress.finish();
  batches.clear();
  stages["load_s"] = load_s;
  stages["forward_s"] = forward_s;
  stages["hessian_s"] = hessian_s;
  stages["round_s"] = round_s;

  // Outputs.
  t.reset();
  json outputs = json::object();
  const auto dtype = [](const std::string& name) { return name == "float32" ? DType::F32 : DType::F16; };
  if (opt.export_gptq) {
    io::GptqExportOptions ex;
    ex.dtype = dtype(cfg.get_string("export.dtype"));
    ex.true_sequential = opt.block.true_sequential;
    ex.damp_percent = opt.block.quant.damp;
    ex.extra_meta = {{"method", quant::method_name(opt.block.quant.method)},
                     {"calib_sampler", opt.block.quant.method == quant::Method::Rtn ? "none" : opt.sampler.kind}};
    io::write_gptq_checkpoint(*source, layers, opt.run_dir / "gptq", ex);
    outputs["gptq"] = (opt.run_dir / "gptq").string();
  }
  if (opt.export_fake_quant) {
    io::write_fake_quant_checkpoint(*source, layers, opt.run_dir / "fake_quant",
                                    dtype(cfg.get_string("export.fake_quant_dtype")));
    outputs["fake_quant"] = (opt.run_dir / "fake_quant").string();
  }
  stages["export_s"] = t.seconds();
  spdlog::info("wrote {} in {}", outputs.dump(), format_duration(stages["export_s"].get<double>()));
  layers.clear();

  // Evaluation.
  json eval_json = json::object();
  if (opt.eval_fp) eval_json["fp"] = ppl_json(evaluate(cfg, model_path.string(), "full-precision"));
  if (opt.eval_quantized)
    eval_json["quantized"] = ppl_json(evaluate(cfg, (opt.run_dir / "fake_quant").string(), "quantized"));
  if (opt.eval_fp && opt.eval_quantized) {
    const double fp = eval_json["fp"]["ppl"], q = eval_json["quantized"]["ppl"];
    spdlog::info("WikiText-2 perplexity: full precision {:.4f}, quantized {:.4f} ({:+.2f} %)", fp, q,
                 100.0 * (q / fp - 1.0));
  }

  char host[256] = {};
  gethostname(host, sizeof host - 1);
  stages["total_s"] = total.seconds();
  const json report = {
      {"maca_version", MACA_VERSION},
      {"config", cfg.to_yaml()},
      {"provenance",
       {{"model", model_path.string()}, {"model_files", [&] {
          json files = json::array();
          for (const auto& f : source->files())
            files.push_back({{"path", f.string()}, {"bytes", std::filesystem::file_size(f)}});
          return files;
        }()}, {"calibration", calib_json}, {"host", host}, {"device", device.str()}}},
      {"method", quant::method_name(opt.block.quant.method)},
      {"bits", opt.block.quant.bits},
      {"group_size", opt.block.quant.group_size},
      {"sym", opt.block.quant.sym},
      {"stages", stages},
      {"blocks", block_records},
      {"layers", layer_records},
      {"outputs", outputs},
      {"eval", eval_json},
      {"peak_rss_bytes", peak_rss_bytes()}};
  write_atomic(opt.run_dir / "report.json", report.dump(2) + "\n");
  spdlog::info("done in {}, peak RSS {:.2f} GiB; report: {}", format_duration(total.seconds()),
               gib(peak_rss_bytes()), (opt.run_dir / "report.json").string());
  return opt.run_dir;
}

}  // namespace maca::pipeline
