#include <cmath>

#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/fast_exp.h"
#include "kernels/cpu/row_max.h"
#include "kernels/shared/elementwise_math.h"

namespace maca::kernels::cpu {

void cross_entropy(backend::Context&, const Tensor& logits, std::span<const int32_t> targets, std::span<double> nll) {
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  MACA_ASSERT(static_cast<int64_t>(targets.size()) == rows && static_cast<int64_t>(nll.size()) == rows,
              "cross_entropy: logits {} targets {} nll {}", logits.str(), targets.size(), nll.size());
  for (int64_t i = 0; i < rows; ++i)
    MACA_CHECK(targets[i] >= 0 && targets[i] < vocab, "target id {} at row {} is outside the vocabulary [0, {})",
               targets[i], i, vocab);
  const float* lp = logits.data<float>();
#pragma omp parallel for schedule(static) if (rows * vocab > 65536)
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = lp + i * vocab;
    const float mx = row_max(row, vocab);
    double sum = 0.0;  // terms in fp32 (relative error ~1e-7 each), accumulated in fp64
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < vocab; ++j) sum += static_cast<double>(fast_expf(row[j] - mx));
    nll[i] = shared::cross_entropy_nll(mx, sum, row[targets[i]]);
  }
}

}  // namespace maca::kernels::cpu
