#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include <omp.h>

#include "core/error.h"
#include "quant/methods.h"

namespace maca::quant {

ScaleRounding parse_scale_rounding(const std::string& s) {
  if (s == "nearest") return ScaleRounding::Nearest;
  if (s == "up") return ScaleRounding::Up;
  if (s == "down") return ScaleRounding::Down;
  if (s == "best") return ScaleRounding::Best;
  if (s == "f32") return ScaleRounding::F32;
  MACA_THROW(ConfigError, "quant.scale_rounding: unknown rule '{}'; choose nearest, up, down, best or f32", s);
}

QuantizedLinear new_result(int64_t rows, int64_t cols, const QuantOptions& opt, const char* method) {
  QuantizedLinear q;
  q.rows = rows;
  q.cols = cols;
  q.bits = opt.bits;
  q.group_size = opt.group_size;
  q.sym = opt.sym;
  q.method = method;
  return q;
}

void validate(const QuantOptions& opt, int64_t cols, const std::string& layer) {
  if (opt.bits != 2 && opt.bits != 3 && opt.bits != 4 && opt.bits != 8)
    MACA_THROW(ConfigError, "quant.bits = {} is not supported; use 2, 3, 4 or 8", opt.bits);
  if (opt.group_size == 0 || opt.group_size < -1)
    MACA_THROW(ConfigError,
               "quant.group_size = {} is invalid; use -1 (one group per row) or a positive divisor "
               "of the input features",
               opt.group_size);
  if (opt.group_size > cols)
    MACA_THROW(ConfigError, "quant.group_size = {} is larger than the {} input features (cols) of layer {}; use -1",
               opt.group_size, cols, layer);
  if (opt.group_size > 0 && cols % opt.group_size != 0 && !opt.partial_groups)
    MACA_THROW(ConfigError,
               "quant.group_size = {} does not divide the {} input features (cols) of layer {}; use a divisor or -1, "
               "or set quant.partial_groups=true to end every row with a shorter group (ceil(cols/g) groups; "
               "transformers/GPTQModel load that, vLLM refuses it)",
               opt.group_size, cols, layer);
  if (!(opt.damp > 0 && opt.damp < 1))
    MACA_THROW(ConfigError, "quant.damp = {} must lie in (0, 1) (relative to mean(diag H))", opt.damp);
  if (opt.damp_retries < 0) MACA_THROW(ConfigError, "quant.damp_retries = {} must be >= 0", opt.damp_retries);
  if (opt.clip.enabled &&
      !(opt.clip.grid > 0 && opt.clip.max_shrink > 0 && opt.clip.max_shrink <= 1 && opt.clip.norm > 0))
    MACA_THROW(ConfigError,
               "quant.clip: grid = {}, max_shrink = {}, norm = {}; need grid > 0, max_shrink in (0, 1] "
               "and norm > 0",
               opt.clip.grid, opt.clip.max_shrink, opt.clip.norm);
}

std::vector<double> load_weight(const Tensor& W, const std::string& layer) {
  MACA_CHECK(W.dtype() == DType::F32 && W.device().is_cpu() && W.ndim() == 2,
             "layer {}: the weight to quantize must be a host f32 matrix, got {}", layer, W.str());
  const float* src = W.data<float>();
  std::vector<double> w(src, src + W.numel());
  for (double v : w) MACA_CHECK(std::isfinite(v), "layer {}: the weight has a non-finite entry ({})", layer, v);
  return w;
}

std::vector<double> load_weight(const Tensor& W, const PreparedStats& prep, const std::string& layer) {
  std::vector<double> w = load_weight(W, layer);
  const int64_t n = W.dim(1), rows = W.dim(0);
  MACA_CHECK(prep.n == n, "layer {}: the Hessian is for {} inputs, the weight has {}", layer, prep.n, n);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < n; ++k)
      if (prep.dead[static_cast<size_t>(k)]) w[r * n + k] = 0;
  return w;
}

void for_each_tile(int64_t tiles, int max_parallel, const std::function<void(int64_t)>& tile) {
  std::vector<std::exception_ptr> failed(static_cast<size_t>(tiles));
  const int threads = max_parallel > 0 ? std::min(max_parallel, omp_get_max_threads()) : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic) if (tiles > 1) num_threads(std::max(1, threads))
  for (int64_t t = 0; t < tiles; ++t) {
    try {
      tile(t);
    } catch (...) {
      failed[static_cast<size_t>(t)] = std::current_exception();
    }
  }
  for (const auto& e : failed)
    if (e) std::rethrow_exception(e);
}

}  // namespace maca::quant
