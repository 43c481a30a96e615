#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

void embedding(backend::Context&, const Tensor& table, std::span<const int32_t> ids, float scale, Tensor& out) {
  const int64_t vocab = table.dim(0), d = table.dim(1), n = static_cast<int64_t>(ids.size());
  MACA_ASSERT(out.dim(0) == n && out.dim(1) == d, "embedding: table {} ids {} out {}", table.str(), n, out.str());
  const float* tp = table.data<float>();
  float* op = out.data<float>();
  for (int64_t i = 0; i < n; ++i)
    MACA_CHECK(ids[i] >= 0 && ids[i] < vocab, "token id {} at position {} is outside the vocabulary [0, {})", ids[i], i,
               vocab);
#pragma omp parallel for schedule(static) if (n * d > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float* src = tp + ids[i] * d;
    float* dst = op + i * d;
    for (int64_t j = 0; j < d; ++j) dst[j] = src[j] * scale;
  }
}

}  // namespace maca::kernels::cpu
