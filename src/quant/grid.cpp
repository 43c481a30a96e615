#include "quant/grid.h"

namespace maca::quant {

grid::GridSpec grid_spec(const Grid& g) {
  static_assert(static_cast<int>(ScaleRounding::F32) == static_cast<int>(grid::ScaleRule::F32));
  return {.bits = g.bits,
          .sym = g.sym,
          .clip = g.clip.enabled,
          .clip_grid = g.clip.grid,
          .clip_max_shrink = g.clip.max_shrink,
          .clip_norm = g.clip.norm,
          .scale_rule = static_cast<grid::ScaleRule>(g.scale_rounding)};
}

double round_scale_to_f16(double s, ScaleRounding mode) {
  return grid::round_scale_to_f16(s, static_cast<grid::ScaleRule>(mode));
}

void find_params(const Grid& grid, const double* x, int64_t rows, int64_t len, int64_t ld, float* scale,
                 int32_t* zero) {
  const grid::GridSpec spec = grid_spec(grid);
  for (int64_t r = 0; r < rows; ++r) grid::row_params(spec, x + r * ld, len, 1, scale + r, zero + r);
}

}  // namespace maca::quant
