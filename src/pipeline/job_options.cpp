#include "pipeline/job_options.h"

#include <algorithm>
#include <chrono>
#include <fmt/chrono.h>
#include <fmt/ranges.h>

#include "calib/calib_file.h"
#include "config/search.h"
#include "core/error.h"
#include "core/log.h"

namespace maca::pipeline {
namespace {

calib::SamplerOptions read_sampler(const config::Config& cfg) {
  calib::SamplerOptions s;
  s.kind = cfg.get_string("calib.sampler");
  s.n_samples = cfg.get_int("calib.n_samples");
  s.seq_len = cfg.get_int("calib.seq_len");
  s.seed = static_cast<uint64_t>(cfg.get_int("calib.seed"));
  s.mode = cfg.get_string("calib.maca.mode");
  s.lengths = cfg.get_int_list("calib.maca.lengths");
  s.weights = cfg.get_float_list("calib.maca.weights");
  s.normalize = cfg.get_string("calib.maca.normalize");
  return s;
}

// The GPTQ packing stores 32/b codes per int32 along the input dimension and
// zeros along the output dimension (formats.md); 3 bits packs 32 values in 3
// words.
void check_packable(const std::string& layer, int64_t rows, int64_t cols, int bits) {
  const int64_t unit = bits == 3 ? 32 : 32 / bits;
  if (cols % unit != 0 || rows % unit != 0)
    MACA_THROW(ConfigError,
               "export.gptq: layer {} is {}x{}; the {}-bit GPTQ packing needs both dimensions to be multiples of {}. "
               "Set export.gptq=false to keep only the fake-quant model, or choose other bits",
               layer, rows, cols, bits, unit);
}

std::filesystem::path default_run_dir() {
  const auto now = std::chrono::system_clock::now();
  return std::filesystem::path("runs") / fmt::format("quantize-{:%Y%m%d-%H%M%S}",
                                                     std::chrono::floor<std::chrono::seconds>(now));
}

}  // namespace

std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> linear_shapes(const model::ModelSpec& s) {
  const int64_t q = s.n_heads * s.head_dim, kv = s.n_kv_heads * s.head_dim;
  return {{"self_attn.q_proj", {q, s.hidden}},          {"self_attn.k_proj", {kv, s.hidden}},
          {"self_attn.v_proj", {kv, s.hidden}},         {"self_attn.o_proj", {s.hidden, q}},
          {"mlp.gate_proj", {s.intermediate, s.hidden}}, {"mlp.up_proj", {s.intermediate, s.hidden}},
          {"mlp.down_proj", {s.hidden, s.intermediate}}};
}

config::Config resolve_for_model(const config::Config& cfg, const model::ModelSpec& spec,
                                 const std::string& model_name) {
  config::Config out = cfg;
  const int64_t group = cfg.get_int("quant.group_size");
  if (cfg.source("quant.group_size") != "default" || cfg.get_bool("quant.partial_groups") || group <= 0) return out;
  const auto shapes = linear_shapes(spec);
  const auto divides_all = [&](int64_t g) {
    return std::all_of(shapes.begin(), shapes.end(), [&](const auto& s) { return s.second.second % g == 0; });
  };
  if (divides_all(group)) return out;
  const auto odd =
      std::find_if(shapes.begin(), shapes.end(), [&](const auto& s) { return s.second.second % group != 0; });
  for (const int64_t g : {64, 32}) {
    if (g >= group || !divides_all(g)) continue;
    spdlog::info(
        "quant.group_size: the default {} does not divide the {} input features of the {} layers of {}; "
        "using {} for this model (set quant.group_size, or quant.partial_groups=true, to choose)",
        group, odd->second.second, odd->first, model_name, g);
    out.set("quant.group_size", std::to_string(g), fmt::format("default {} resolved for {}", group, model_name));
    return out;
  }
  return out;  // no fallback divides: read_job_options names the layer
}

JobOptions read_job_options(const config::Config& cfg, const model::ModelSpec& spec) {
  JobOptions o;
  o.block.method = quant::create_method(cfg);
  o.block.true_sequential = cfg.get_bool("quant.true_sequential");
  o.block.precision = cfg.get_string("quant.hessian_precision") == "f64" ? hessian::Precision::F64
                                                                          : hessian::Precision::F32;
  o.block.skip = cfg.get_string_list("quant.skip");
  o.block.partition = cfg.get_string("run.partition") == "owner" ? Partition::Owner : Partition::Rows;
  o.block.node_share = cfg.get_bool("run.node_share");
  o.resume = cfg.get_bool("run.resume");
  o.export_gptq = cfg.get_bool("export.gptq");
  o.export_fake_quant = cfg.get_bool("export.fake_quant");
  o.eval_fp = cfg.get_bool("eval.fp");
  o.eval_quantized = cfg.get_bool("eval.quantized");
  o.batch_tokens = cfg.get_int("calib.batch_tokens");
  o.max_resident_gb = cfg.get_float("calib.max_resident_gb");
  o.overflow = parse_overflow(cfg.get_string("calib.overflow"));
  if (o.eval_quantized && !o.export_fake_quant)
    MACA_THROW(ConfigError, "eval.quantized=true evaluates run.dir/fake_quant, which export.fake_quant=false "
                            "does not write; enable export.fake_quant or set eval.quantized=false");

  for (const auto& [suffix, shape] : linear_shapes(spec)) {
    const std::string layer = "model.layers.*." + suffix;
    o.block.method->validate(shape.second, layer);
    if (o.export_gptq) check_packable(layer, shape.first, shape.second, o.block.method->grid().bits);
  }

  bool any_quantized = false;
  for (int b = 0; b < spec.n_layers && !any_quantized; ++b)
    for (const auto& [suffix, shape] : linear_shapes(spec))
      any_quantized = any_quantized || !matches_any(fmt::format("model.layers.{}.{}", b, suffix), o.block.skip);
  if (!any_quantized)
    MACA_THROW(ConfigError, "quant.skip: the patterns [{}] keep every layer in full precision; nothing to quantize",
               fmt::join(o.block.skip, ", "));

  if (o.block.method->needs().hessian) {
    o.sampler = read_sampler(cfg);
    o.calib_format = cfg.get_string("calib.format");
    o.calib_data = config::find_data_file(cfg.get_string("calib.data"), cfg);
    if (calib::is_calib_set_file(o.calib_data) && o.sampler.kind != "fixed")
      MACA_THROW(ConfigError, "calib.sampler: '{}' crops its own sequences, but calib.data '{}' is a calibration-set "
                              "file whose sequences are used as they are; set calib.sampler=fixed",
                 o.sampler.kind, o.calib_data.string());
    calib::validate(o.sampler);
  }

  const std::string dir = cfg.get_string("run.dir");
  o.run_dir = dir.empty() ? default_run_dir() : std::filesystem::path(dir);
  if (std::filesystem::exists(o.run_dir / "report.json"))
    MACA_THROW(ConfigError, "run.dir: '{}' already holds a finished run (report.json); choose another run.dir or "
                            "remove that directory", o.run_dir.string());
  return o;
}

}  // namespace maca::pipeline
