#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

void linear(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) {
  const int64_t m = x.dim(0), k = x.dim(1), n = w.dim(0);
  MACA_ASSERT(w.dim(1) == k && y.dim(0) == m && y.dim(1) == n, "linear: x {} w {} y {}", x.str(), w.str(), y.str());
  float* out = y.data<float>();
  float beta = 0.0f;
  if (bias.defined()) {
    MACA_ASSERT(bias.numel() == n, "linear: bias {} for {} outputs", bias.str(), n);
    const float* b = bias.data<float>();
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) out[i * n + j] = b[j];
    beta = 1.0f;
  }
  gemm(false, true, m, n, k, 1.0f, x.data<float>(), k, w.data<float>(), k, beta, out, n);
}

}  // namespace maca::kernels::cpu
