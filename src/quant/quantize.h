// The options every rounding method shares: the grid (algorithms.md §1) and
// the Hessian damping. Each method's own options live with the method
// (quant/method.h). Rows are independent in every method, so a caller may
// round a tile-aligned slice of rows with the same statistics and get the same
// result as for those rows of the whole layer (ranks split rows this way).
#pragma once

#include <cstdint>
#include <string>

#include "core/quantized.h"
#include "core/tensor.h"

namespace maca::quant {

struct ClipSearch {
  bool enabled = false;
  int grid = 100;           // shrink factors 1, 1-1/grid, ...
  double max_shrink = 0.8;  // down to 1 - max_shrink (0.2)
  double norm = 2.4;        // error exponent
};

// How a group's scale is stored (codes are always computed against the stored
// scale; with the fp16-exact rules the GPTQ export dequantizes to what the
// rounder used).
// nearest: the nearest fp16 value. up: the smallest fp16 value >= the min-max
// scale, so the group's extreme never rounds outward past its tie. down: the
// largest fp16 value <= it, so a symmetric group's negative extreme always
// takes the outermost code. best: of the two fp16 neighbours (down, up), the
// one whose codes give the smaller squared error over the group's weights
// (docs/results.md, "RTN ties and the fp16 scale"). f32: not made fp16-exact;
// the float32 min-max scale, as the GPTQ reference rounds with. The codes then
// match the fake-quant export exactly, while the GPTQ export (fp16 scales by
// format) dequantizes to slightly different values: a measurement setting.
enum class ScaleRounding { Nearest, Up, Down, Best, F32 };
ScaleRounding parse_scale_rounding(const std::string& s);

struct QuantOptions {
  int bits = 4;               // 2, 3, 4, 8
  int64_t group_size = 128;   // -1, 32, 64, 128 (a divisor of the columns, see partial_groups)
  bool partial_groups = false;  // allow a shorter last group when group_size does not divide the columns
  bool sym = true;
  double damp = 0.01;         // relative: λ·mean(diag H)
  int damp_retries = 6;       // λ *= 10 per failed Cholesky, at most this many times
  ClipSearch clip;
  ScaleRounding scale_rounding = ScaleRounding::Nearest;  // RTN recipes set down (docs/results.md)
};

// Checks bits/group size/etc. against a layer with `cols` inputs; throws
// ConfigError naming the option (and the layer) on a bad value.
void validate(const QuantOptions& opt, int64_t cols, const std::string& layer);

// Rows per independently rounded tile. The Hessian methods round a layer in tiles of
// this many rows counted from its first row (each tile single-threaded), so a
// row slice that starts at a multiple of kRowTile gives the same bits as the
// same rows of the whole layer, for any thread count.
constexpr int64_t kRowTile = 32;

}  // namespace maca::quant
