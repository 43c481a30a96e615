// Index logic of the CUDA gram_fixed_point (backend/ops.h,
// kernels/cuda/gram_fixed_point.cu), kept apart from the kernel so a host
// test (tests/backend/test_gram_tiles.cpp) checks it against the CPU
// oracle's loops (kernels/cpu/gram_fixed_point.cpp).
//
// The products of aᵀ·b ([n, n]) are formed a strip at a time: `tile_rows`
// tile rows of output (rows i0 .. i0 + ni) by the columns j0 .. n, with j0 = 0
// for a general matrix and j0 = i0 for a symmetric one (its upper part starts
// there; the strip's lower-left triangle is computed and not used). Value
// (i, j) of the product is added to the words `word(i, j, …)` (hi; lo is
// kTile² further) when `counted(i, j, …)`: every value of a general matrix,
// and j >= i of a symmetric one, which is exactly the CPU's set (tiles with
// tj >= ti, and j % kTile >= i % kTile within a diagonal tile).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/shared/fixed_point.h"
#include "kernels/shared/hd.h"

namespace maca::gram_tiles {

using fixed_point::kTile;

// Whether product (i, j) is added to the words.
MACA_HD inline bool counted(int64_t i, int64_t j, bool symmetric) { return !symmetric || j >= i; }

// Offset of the hi word of product (i, j) (counted) in the tile layout of
// fixed_point::tile_offset for `tiles` tiles per dimension.
MACA_HD inline int64_t word(int64_t i, int64_t j, int64_t tiles, bool symmetric) {
  return fixed_point::tile_offset(i / kTile, j / kTile, tiles, symmetric) + (i % kTile) * kTile + j % kTile;
}

inline int64_t tiles_of(int64_t n) { return (n + kTile - 1) / kTile; }

// A symmetric product's strips have at most ⌈tiles / kSymmetricStrips⌉ tile
// rows, so the unused lower-left triangles of the strips add at most about
// 1/kSymmetricStrips to the flops of the upper part.
constexpr int64_t kSymmetricStrips = 8;

// Tile rows per strip for n > 0 features: as many as keep one strip's
// products ([tile_rows·kTile, n] of elem_bytes each) within budget_bytes, at
// least 1 and at most all (and for a symmetric product at most
// ⌈tiles / kSymmetricStrips⌉). A pure function of its arguments, so the
// strips' GEMM shapes (and with them cuBLAS's choice of algorithm) depend
// only on n, the row count and the precision.
inline int64_t strip_tile_rows(int64_t n, bool symmetric, int64_t elem_bytes, int64_t budget_bytes) {
  const int64_t tiles = tiles_of(n);
  int64_t s = budget_bytes / (kTile * n * elem_bytes);
  if (symmetric) s = std::min(s, (tiles + kSymmetricStrips - 1) / kSymmetricStrips);
  return std::clamp<int64_t>(s, 1, tiles);
}

inline int64_t strip_count(int64_t n, int64_t tile_rows) { return (tiles_of(n) + tile_rows - 1) / tile_rows; }

// Rows [i0, i0 + ni) by columns [j0, j0 + nj) of the product.
struct Strip {
  int64_t i0, ni, j0, nj;
};

// Strip k (0 <= k < strip_count) of tile_rows tile rows. Strip 0 is the
// largest (most rows, and j0 = 0), so a buffer of its ni·nj values holds any.
inline Strip strip(int64_t k, int64_t tile_rows, int64_t n, bool symmetric) {
  const int64_t i0 = k * tile_rows * kTile, ni = std::min(tile_rows * kTile, n - i0);
  const int64_t j0 = symmetric ? i0 : 0;
  return {i0, ni, j0, n - j0};
}

}  // namespace maca::gram_tiles
