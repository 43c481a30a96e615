// Round to nearest (algorithms.md §1): params per group of the original W, no
// calibration data.
#include <algorithm>

#include "quant/grid.h"
#include "quant/method.h"
#include "quant/methods.h"

namespace maca::quant {
namespace {

QuantizedLinear rtn(const Tensor& W, const QuantOptions& opt, const std::string& layer) {
  const std::vector<double> w = load_weight(W, layer);
  const int64_t rows = W.dim(0), cols = W.dim(1);
  const int64_t g = opt.group_size < 0 ? cols : opt.group_size;
  const int64_t n_groups = (cols + g - 1) / g;  // the last one may be shorter (partial_groups)
  const Grid grid{opt.bits, opt.sym, opt.clip, opt.scale_rounding};
  QuantizedLinear q = new_result(rows, cols, opt, "rtn");
  q.scales.resize(static_cast<size_t>(n_groups * rows));
  q.zeros.resize(q.scales.size());
  q.codes.resize(w.size());
  q.g_idx.resize(static_cast<size_t>(cols));
  q.perm.resize(static_cast<size_t>(cols));
  for (int64_t k = 0; k < cols; ++k) {
    q.g_idx[k] = static_cast<int32_t>(k / g);
    q.perm[k] = static_cast<int32_t>(k);
  }
  for (int64_t j = 0; j < n_groups; ++j)
    find_params(grid, w.data() + j * g, rows, std::min(g, cols - j * g), cols, q.scales.data() + j * rows,
                q.zeros.data() + j * rows);
  const double maxq = grid.maxq();
  // loss: the plain weight-space error Σ (w − q)² (RTN has no Hessian).
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) {
      const size_t gi = static_cast<size_t>((k / g) * rows + r);
      const double s = q.scales[gi], z = q.zeros[gi];
      const double c = quantize_code(w[r * cols + k], s, z, maxq);
      q.codes[r * cols + k] = static_cast<uint8_t>(c);
      const double e = w[r * cols + k] - s * (c - z);
      q.loss += e * e;
    }
  return q;
}

class Rtn final : public Method {
 public:
  explicit Rtn(const QuantOptions& grid) : Method(grid) {}
  const char* name() const override { return "rtn"; }
  Needs needs() const override { return {}; }
  QuantizedLinear round(backend::Context&, const Tensor& W, const LayerStats&, const LayerSite& site) const override {
    return rtn(W, grid_, site.name);
  }
};

}  // namespace

extern const MethodInfo rtn_method{
    .name = "rtn",
    .help = "round to nearest (no calibration data)",
    .declare = nullptr,
    .create = [](const QuantOptions& grid, const config::Config&) -> std::unique_ptr<Method> {
      return std::make_unique<Rtn>(grid);
    }};

}  // namespace maca::quant
