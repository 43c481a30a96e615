// How K-SNRQ splits a layer's rows to respect quant.ksnrq.memory_mb
// (the formula is in ksnrq.cpp's header comment). Declared apart so that tests
// can check the plan against the budget.
#pragma once

#include <cstdint>
#include <string>

namespace maca::quant {

struct BeamPlan {
  int64_t tile_rows = 1;   // rows decoded together (a divisor of kRowTile)
  int64_t tile_bytes = 0;  // ksnrq_tile_bytes(tile_rows, ...)
  int parallel = 1;        // tiles at once: parallel · tile_bytes ≤ the budget
  int64_t device_rows = 1;  // rows per chunk on a GPU (whole tiles, all decoded at once)
};

// Bytes one tile of `nr` rows holds with K beams, n columns and decoder block bs.
int64_t ksnrq_tile_bytes(int64_t nr, int64_t k, int64_t n, int64_t bs);
// Bytes per row of a GPU chunk (ksnrq.cpp's header comment).
int64_t ksnrq_device_row_bytes(int64_t k, int64_t n, int64_t bs);
// Throws ConfigError-like maca::Error naming the layer when one row does not fit.
BeamPlan ksnrq_plan(int64_t k, int64_t n, int64_t bs, int64_t memory_mb, int threads, const std::string& layer);

}  // namespace maca::quant
