// The quantization grid (algorithms.md §1) as GPTQ's reference
// Quantizer.find_params(weight=True) defines it, plus maca's choice of an
// fp16-exact scale: after the (optional) clip search the scale is rounded to
// an fp16 value (quant.scale_rounding: nearest by default, or down, up, best;
// f32 keeps the float32 scale, as the reference does) and every code is
// computed against that stored scale, so QuantizedLinear::dequantize()
// reproduces exactly the values the rounders used.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/shared/grid_params.h"
#include "quant/quantize.h"

namespace maca::quant {

struct Grid {
  int bits = 4;
  bool sym = true;
  ClipSearch clip;
  ScaleRounding scale_rounding = ScaleRounding::Nearest;

  int maxq() const { return (1 << bits) - 1; }
};

// The grid as plain values for the shared per-row math (kernels/shared/grid_params.h).
grid::GridSpec grid_spec(const Grid& g);

// Scale and zero of each of `rows` rows of x (row r: x[r·ld .. r·ld + len)).
void find_params(const Grid& grid, const double* x, int64_t rows, int64_t len, int64_t ld, float* scale, int32_t* zero);

// Code of x: clamp(round_half_even(x / scale) + zero, 0, maxq).
using grid::quantize_code;

// The fp16 value for a positive scale s (`Nearest`: ties to even; `Up`: the
// smallest fp16 value >= s; `Down`: the largest <= s), kept within [smallest positive subnormal,
// largest finite].
double round_scale_to_f16(double s, ScaleRounding mode = ScaleRounding::Nearest);

}  // namespace maca::quant
