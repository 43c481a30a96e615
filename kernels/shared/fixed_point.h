// Exact, order-independent sums of doubles as fixed-point integers, and the
// tile layout of the Hessian statistics kept that way (hessian/accumulator.h).
// Shared by the CPU and CUDA kernels, so both backends produce the same
// words from the same products.
//
// A value v with |v| <= kMaxAbs is taken as s = v·2^40 (exact) and
// split, by truncation toward zero, into two integers s ≈ hi·2^32 + lo with
// |lo| < 2^32. Each is added to its own int64 word. The conversion is a pure
// function of v (error below 2^-40): the scaling by powers of two and the
// subtraction are exact, so a fused multiply-add gives the same bits, and the
// truncating conversions are the same instruction everywhere (cvttsd2si on
// x86-64, fcvtzs on ARM, cvt.rzi on NVIDIA GPUs). Integer addition is exact
// and associative, so the words of a sum do not depend on the order of the
// terms nor on how the terms were split over threads, ranks or devices (an
// all-reduce of the words is an integer sum).
//
// Range: |hi| <= 2^(36+40-32) = 2^44 per term, so 2^19 terms per word fit in
// int64 with room to spare; |lo| < 2^32 per term, 2^31 terms.
#pragma once

#include <cstdint>

#include "kernels/shared/hd.h"

namespace maca::fixed_point {

constexpr double kMaxAbs = 0x1p36;               // largest |v| one term may have
constexpr int64_t kMaxTerms = int64_t{1} << 19;  // terms one word may receive

// Adds v to (hi, lo); false (nothing added) when v is not finite or |v| > kMaxAbs.
MACA_HD inline bool add(double v, int64_t& hi, int64_t& lo) {
  if (!(v >= -kMaxAbs && v <= kMaxAbs)) return false;  // NaN fails both
  const double s = v * 0x1p40;
  const auto h = static_cast<int64_t>(s * 0x1p-32);
  hi += h;
  lo += static_cast<int64_t>(s - static_cast<double>(h) * 0x1p32);
  return true;
}

// The value a pair of words holds (rounded once to double).
MACA_HD inline double value(int64_t hi, int64_t lo) {
  return (static_cast<double>(hi) * 0x1p32 + static_cast<double>(lo)) * 0x1p-40;
}

// The statistics are square tiles of kTile × kTile values; a tile's words
// are kTile² hi words followed by kTile² lo words (row-major within each).
constexpr int64_t kTile = 128;
constexpr int64_t kTileWords = 2 * kTile * kTile;

// Offset of tile (ti, tj) among `tiles` per dimension: a symmetric matrix
// keeps only its upper tiles (ti <= tj) in row-major tile order, a general
// one all tiles.
MACA_HD inline int64_t tile_offset(int64_t ti, int64_t tj, int64_t tiles, bool symmetric) {
  return (symmetric ? ti * tiles - ti * (ti - 1) / 2 + (tj - ti) : ti * tiles + tj) * kTileWords;
}
MACA_HD inline int64_t tile_count(int64_t tiles, bool symmetric) {
  return symmetric ? tiles * (tiles + 1) / 2 : tiles * tiles;
}

}  // namespace maca::fixed_point
