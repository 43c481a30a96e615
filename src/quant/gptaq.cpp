#include <cmath>

#include "backend/ops.h"
#include "core/error.h"
#include "quant/methods.h"

namespace maca::quant {

void gptaq_target(backend::Context& ctx, std::vector<double>& w, int64_t rows, const Tensor& D, const LoadedHessian& h,
                  const DampedFactors& factors, double alpha, const std::string& layer) {
  const int64_t n = h.n;
  MACA_CHECK(D.dtype() == DType::F32 && D.device().is_cpu() && D.ndim() == 2 && D.dim(0) == n && D.dim(1) == n,
             "layer {}: GPTAQ's D must be host f32 [{}, {}], got {}", layer, n, n, D.str());
  const float* src = D.data<float>();
  std::vector<double> d(src, src + n * n);
  for (double v : d) MACA_CHECK(std::isfinite(v), "layer {}: GPTAQ's D has a non-finite entry ({})", layer, v);
  for (int64_t i = 0; i < n; ++i)
    if (h.dead[i])
      for (int64_t j = 0; j < n; ++j) d[i * n + j] = d[j * n + i] = 0;
  // M = W·D, then M·H_λ⁻¹ by the Cholesky solve.
  std::vector<double> m(w.size());
  backend::gemm(ctx, false, false, rows, n, n, 1.0, w.data(), n, d.data(), n, 0.0, m.data(), n);
  backend::cholesky_solve(ctx, n, rows, factors.h_factor.data(), n, false, m.data(), n);
  for (size_t i = 0; i < w.size(); ++i) w[i] += alpha * m[i];
}

}  // namespace maca::quant
