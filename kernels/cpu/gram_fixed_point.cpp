// gram_fixed_point: strips of up to kStrip output tiles of one tile row, one
// single-threaded BLAS call each into a per-thread buffer, then each value
// added to its words. A value's bits depend only on its strip's shape and
// inputs (fixed by n), never on the thread count.
#include <algorithm>
#include <atomic>
#include <vector>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/shared/fixed_point.h"

namespace maca::kernels::cpu {
namespace {

constexpr int64_t kTile = fixed_point::kTile;
constexpr int64_t kStrip = 4;  // output tiles per BLAS call

struct Strip {
  int64_t ti, tj0, ntiles;
};

template <class T>
bool accumulate(const backend::GramFixedPoint& g) {
  const int64_t n = g.n, tiles = (n + kTile - 1) / kTile;
  std::vector<Strip> strips;
  for (int64_t ti = 0; ti < tiles; ++ti)
    for (int64_t tj = g.symmetric ? ti : 0; tj < tiles; tj += kStrip)
      strips.push_back({ti, tj, std::min(kStrip, tiles - tj)});
  const T* a = static_cast<const T*>(g.a);
  const T* b = static_cast<const T*>(g.b);
  std::atomic<bool> ok_all{true};
  const int64_t ldb = kStrip * kTile;
#pragma omp parallel
  {
    std::vector<T> buf(static_cast<size_t>(kTile * ldb));
#pragma omp for schedule(dynamic)
    for (size_t t = 0; t < strips.size(); ++t) {
      const Strip& st = strips[t];
      const int64_t i0 = st.ti * kTile, j0 = st.tj0 * kTile;
      const int64_t ni = std::min(kTile, n - i0), nj = std::min(st.ntiles * kTile, n - j0);
      gemm_rm(true, false, ni, nj, g.rows, T(1), a + i0, n, b + j0, n, T(0), buf.data(), ldb);
      bool ok = true;
      for (int64_t k = 0; k < st.ntiles; ++k) {
        const int64_t tj = st.tj0 + k, cols = std::min(kTile, n - tj * kTile);
        const bool diag = g.symmetric && tj == st.ti;
        int64_t* hi = g.words + fixed_point::tile_offset(st.ti, tj, tiles, g.symmetric);
        int64_t* lo = hi + kTile * kTile;
        for (int64_t i = 0; i < ni; ++i)
          for (int64_t j = diag ? i : 0; j < cols; ++j)
            ok &= fixed_point::add(static_cast<double>(buf[i * ldb + k * kTile + j]), hi[i * kTile + j],
                                   lo[i * kTile + j]);
      }
      if (!ok) ok_all = false;
    }
  }
  return ok_all;
}

}  // namespace

bool gram_fixed_point(backend::Context&, const backend::GramFixedPoint& g) {
  if (g.rows == 0 || g.n == 0) return true;
  return g.f64 ? accumulate<double>(g) : accumulate<float>(g);
}

}  // namespace maca::kernels::cpu
