// y = x·wᵀ (+ bias) as a fixed grid of tiles: kRowTile rows counted from the
// start of each sequence × kColTile output columns, one single-threaded sgemm
// per tile, tiles spread over the OpenMP threads. A tile's bits depend only on
// its own inputs and shape, so the result is the same for any thread count
// and any batching of the sequences (ranks see different batches).
#include <algorithm>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {
namespace {
constexpr int64_t kRowTile = 256, kColTile = 256;
}  // namespace

void linear(backend::Context&, const Tensor& x, const Tensor& w, const Tensor& bias, std::span<const int64_t> seq_lens, Tensor& y) {
  const int64_t m = x.dim(0), k = x.dim(1), n = w.dim(0);
  MACA_ASSERT(w.dim(1) == k && y.dim(0) == m && y.dim(1) == n, "linear: x {} w {} y {}", x.str(), w.str(), y.str());
  MACA_ASSERT(!bias.defined() || bias.numel() == n, "linear: bias {} for {} outputs", bias.str(), n);
  struct RowTile {
    int64_t begin, rows;
  };
  std::vector<RowTile> row_tiles;
  int64_t at = 0;
  auto add_sequence = [&](int64_t len) {
    for (int64_t r = 0; r < len; r += kRowTile) row_tiles.push_back({at + r, std::min(kRowTile, len - r)});
    at += len;
  };
  if (seq_lens.empty())
    add_sequence(m);
  else
    for (const int64_t len : seq_lens) add_sequence(len);
  MACA_ASSERT(at == m, "linear: seq_lens sum {} != rows {}", at, m);

  const int64_t col_tiles = (n + kColTile - 1) / kColTile;
  const auto tiles = static_cast<int64_t>(row_tiles.size()) * col_tiles;
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  const float* bp = bias.defined() ? bias.data<float>() : nullptr;
  float* out = y.data<float>();
#pragma omp parallel for schedule(dynamic) if (tiles > 1)
  for (int64_t t = 0; t < tiles; ++t) {
    const RowTile rt = row_tiles[static_cast<size_t>(t / col_tiles)];
    const int64_t c0 = (t % col_tiles) * kColTile, nc = std::min(kColTile, n - c0);
    float* yt = out + rt.begin * n + c0;
    if (bp)
      for (int64_t i = 0; i < rt.rows; ++i) std::copy_n(bp + c0, nc, yt + i * n);
    gemm_rm(false, true, rt.rows, nc, k, 1.0f, xp + rt.begin * k, k, wp + c0 * k, k, bp ? 1.0f : 0.0f, yt, n);
  }
}

}  // namespace maca::kernels::cpu
