#include <limits>

#include "core/error.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {
namespace {
int to_int(int64_t v, const char* what) {
  MACA_ASSERT(v >= 0 && v <= std::numeric_limits<int>::max(), "{} = {} exceeds the 32-bit BLAS interface", what,
              v);
  return static_cast<int>(v);
}
}  // namespace

// Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: swap the operands.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const char ta = trans_b ? 'T' : 'N';
  const char tb = trans_a ? 'T' : 'N';
  const int M = to_int(n, "n"), N = to_int(m, "m"), K = to_int(k, "k");
  const int LDA = to_int(ldb, "ldb"), LDB = to_int(lda, "lda"), LDC = to_int(ldc, "ldc");
  sgemm_(&ta, &tb, &M, &N, &K, &alpha, b, &LDA, a, &LDB, &beta, c, &LDC);
}

}  // namespace maca::kernels::cpu
