// gram_fixed_point: the products a strip of tile rows at a time
// (kernels/shared/gram_tiles.h): one cuBLAS GEMM per strip into a scratch
// buffer, then a kernel that adds each counted value to its words with
// fixed_point::add, one thread per value. Every word pair belongs to one value
// of one strip, so no two threads of a launch touch the same words (no
// atomics), and the launches are ordered on the context's stream. A value out
// of fixed_point's range sets a device flag (every writer stores the same 1),
// read back once at the end: the call's only synchronization.
//
// A value's bits depend on the GEMM algorithm cuBLAS picks for the strip's
// shape on this GPU. The shapes depend only on n, rows and the precision, and
// cuBLAS is deterministic for a fixed shape on one stream with atomics
// disallowed (the context's setting), so repeated runs on one GPU give the
// same words; against the CPU oracle, whose BLAS sums in another order, the
// values agree to rounding (exactly when every product and sum is exact).
#include <algorithm>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_array.h"
#include "kernels/shared/fixed_point.h"
#include "kernels/shared/gram_tiles.h"

namespace maca::kernels::cuda {
namespace {

using fixed_point::kTile;

// Products of one strip: at most this many bytes (unless one tile row needs more).
constexpr int64_t kStripBudget = int64_t{64} << 20;
constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;

// prod: the strip's products [st.ni, st.nj] (row-major, ld st.nj). Rows go
// over blockIdx.y, columns over the x threads (consecutive threads,
// consecutive words of a tile row), both grid-strided.
template <class T>
__global__ void add_strip_kernel(const T* __restrict__ prod, gram_tiles::Strip st, int64_t tiles, bool symmetric,
                                 int64_t* __restrict__ words, int* __restrict__ out_of_range) {
  const int64_t col_stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = blockIdx.y; r < st.ni; r += gridDim.y) {
    const int64_t i = st.i0 + r;
    const T* row = prod + r * st.nj;
    for (int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; c < st.nj; c += col_stride) {
      const int64_t j = st.j0 + c;
      if (!gram_tiles::counted(i, j, symmetric)) continue;
      int64_t* hi = words + gram_tiles::word(i, j, tiles, symmetric);
      if (!fixed_point::add(static_cast<double>(row[c]), hi[0], hi[kTile * kTile])) *out_of_range = 1;
    }
  }
}

template <class T>
bool accumulate(CudaContext& c, const backend::GramFixedPoint& g) {
  const int64_t n = g.n, tiles = gram_tiles::tiles_of(n);
  const int64_t tile_rows = gram_tiles::strip_tile_rows(n, g.symmetric, sizeof(T), kStripBudget);
  const int64_t strips = gram_tiles::strip_count(n, tile_rows);
  const gram_tiles::Strip largest = gram_tiles::strip(0, tile_rows, n, g.symmetric);
  const DeviceArray<T> prod(c, static_cast<size_t>(largest.ni * largest.nj));
  const DeviceArray<int> out_of_range(c, 1);
  MACA_CUDA_CHECK(cudaMemsetAsync(out_of_range.get(), 0, sizeof(int), c.cuda_stream()));
  const auto* a = static_cast<const T*>(g.a);
  const auto* b = static_cast<const T*>(g.b);
  for (int64_t k = 0; k < strips; ++k) {
    const gram_tiles::Strip st = gram_tiles::strip(k, tile_rows, n, g.symmetric);
    // prod [ni, nj] = a[:, i0 : i0 + ni]ᵀ · b[:, j0 : n], formed in T.
    cuda::gemm(c, true, false, st.ni, st.nj, g.rows, T(1), a + st.i0, n, b + st.j0, n, T(0), prod.get(), st.nj);
    const dim3 grid(static_cast<unsigned>((st.nj + kThreads - 1) / kThreads),
                    static_cast<unsigned>(std::min(st.ni, kMaxGridY)));
    add_strip_kernel<T><<<grid, kThreads, 0, c.cuda_stream()>>>(prod.get(), st, tiles, g.symmetric, g.words,
                                                                out_of_range.get());
    MACA_CUDA_CHECK_LAUNCH();
  }
  int flag = 0;
  MACA_CUDA_CHECK(cudaMemcpyAsync(&flag, out_of_range.get(), sizeof(int), cudaMemcpyDeviceToHost, c.cuda_stream()));
  MACA_CUDA_CHECK(cudaStreamSynchronize(c.cuda_stream()));
  return flag == 0;
}

}  // namespace

bool gram_fixed_point(backend::Context& ctx, const backend::GramFixedPoint& g) {
  if (g.rows == 0 || g.n == 0) return true;
  CudaContext& c = cuda_context(ctx);
  return g.f64 ? accumulate<double>(c, g) : accumulate<float>(c, g);
}

}  // namespace maca::kernels::cuda
