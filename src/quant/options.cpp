// quant.*: the method choice and the options every method shares (grid,
// damping, which layers, how the statistics are kept); each method's own
// options come from its MethodInfo.
#include <fmt/format.h>

#include "quant/method.h"

namespace maca::quant {

void declare_options(config::Schema& s) {
  std::vector<std::string> names;
  std::string help = "the rounding method:";
  for (const MethodInfo* m : methods()) {
    names.push_back(m->name);
    help += fmt::format(" {}: {};", m->name, m->help);
  }
  help.back() = '.';
  s.add({"quant.method", std::string("gptq"), help, config::one_of(names)});
  s.add({"quant.bits", std::int64_t{4}, "bits per weight",
         config::Check{[](const config::Value& v) {
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
         config::Check{[](const config::Value& v) {
                         const auto g = std::get<std::int64_t>(v);
                         return g == -1 || g > 0 ? std::string()
                                                 : fmt::format("group size {} is neither -1 nor positive", g);
                       },
                       "-1 or a positive divisor of the input size"}});
  s.add({"quant.partial_groups", false,
         "allow a group size that does not divide a layer's input size: every row ends with a shorter group "
         "(ceil(cols/g) groups), as the GPTQ reference does; transformers/GPTQModel load it, vLLM refuses it"});
  s.add({"quant.sym", true, "symmetric grid (zero point in the middle); false: asymmetric min-max grid"});
  s.add({"quant.damp", 0.01, "relative damping: lambda x mean(diag H) is added to the diagonal",
         config::in_range(1e-9, 0.999999)});
  s.add({"quant.damp_retries", std::int64_t{6},
         "when a Cholesky factorization fails, damping is multiplied by 10 and retried at most this many times",
         config::in_range(0, 20)});
  s.add({"quant.scale_rounding", std::string("nearest"),
         "how each group's scale is stored (codes always use the stored scale; docs/results.md: down is "
         "best for RTN, nearest for GPTQ so far): the nearest fp16 value, "
         "up (the smallest fp16 value >= the min-max scale, so the group's extreme weight never rounds "
         "outward past its tie), down (the largest <= it), best (of down and up, the one with the smaller "
         "squared error over the group), or f32 (not fp16-exact: the float32 scale the GPTQ reference rounds "
         "with; fake_quant matches the codes, the GPTQ export's fp16 scales then dequantize slightly differently)",
         config::one_of({"nearest", "up", "down", "best", "f32"})});
  s.add({"quant.clip", false, "search a shrunk range per group that minimizes |w - q(w)|^2.4 (GPTQ's mse option)"});
  s.add({"quant.true_sequential", true,
         "quantize q/k/v, then o, then gate/up, then down, each seeing the already-quantized earlier groups"});
  s.add({"quant.hessian_precision", std::string("f64"), "accumulation precision of H (and D). f64 (default) makes "
         "the result independent of how the calibration rows are split over ranks: GPTQ's error feedback turns f32 "
         "summation-order differences into different codes for most weights (measured on SmolLM2: 32 % identical "
         "codes between 1 and 2 ranks with f32, 100 % with f64). f32 halves the statistics' memory (n² × 4 bytes "
         "per group: 3.3 GB for a 28672-wide down_proj)",
         config::one_of({"f32", "f64"})});
  s.add({"quant.skip", config::StringList{"lm_head"},
         "layer-name patterns (* and ? wildcards, e.g. '*.down_proj' or 'model.layers.0.*') kept in full precision; "
         "embeddings and lm_head are never quantized"});
  for (const MethodInfo* m : methods())
    if (m->declare) m->declare(s);
}

QuantOptions read_grid_options(const config::Config& cfg) {
  QuantOptions q;
  q.bits = static_cast<int>(cfg.get_int("quant.bits"));
  q.group_size = cfg.get_int("quant.group_size");
  q.partial_groups = cfg.get_bool("quant.partial_groups");
  q.sym = cfg.get_bool("quant.sym");
  q.damp = cfg.get_float("quant.damp");
  q.damp_retries = static_cast<int>(cfg.get_int("quant.damp_retries"));
  q.clip.enabled = cfg.get_bool("quant.clip");
  q.scale_rounding = parse_scale_rounding(cfg.get_string("quant.scale_rounding"));
  return q;
}

}  // namespace maca::quant
