#include <cmath>

#include "backend/ops.h"
#include "core/error.h"
#include "quant/methods.h"

namespace maca::quant {

std::vector<double> gptaq_cross(const Tensor& D, const LoadedHessian& h, const std::string& layer) {
  const int64_t n = h.n;
  MACA_CHECK(D.dtype() == DType::F32 && D.device().is_cpu() && D.ndim() == 2 && D.dim(0) == n && D.dim(1) == n,
             "layer {}: GPTAQ's D must be host f32 [{}, {}], got {}", layer, n, n, D.str());
  const float* src = D.data<float>();
  std::vector<double> d(src, src + n * n);
  for (double v : d) MACA_CHECK(std::isfinite(v), "layer {}: GPTAQ's D has a non-finite entry ({})", layer, v);
  for (int64_t i = 0; i < n; ++i)
    if (h.dead[i])
      for (int64_t j = 0; j < n; ++j) d[i * n + j] = d[j * n + i] = 0;
  return d;
}

void gptaq_shift(backend::Context& ctx, double* w, int64_t rows, int64_t n, const std::vector<double>& d,
                 const DampedFactors& factors, double alpha) {
  // M = W·D, then M·H_λ⁻¹ by the Cholesky solve.
  std::vector<double> m(static_cast<size_t>(rows * n));
  backend::gemm(ctx, false, false, rows, n, n, 1.0, w, n, d.data(), n, 0.0, m.data(), n);
  backend::cholesky_solve(ctx, n, rows, factors.h_factor.data(), n, false, m.data(), n);
  for (size_t i = 0; i < m.size(); ++i) w[i] += alpha * m[i];
}

}  // namespace maca::quant
