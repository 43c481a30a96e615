// Helpers the rounding methods share. Internal to the quant area; options are
// already validated.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backend/context.h"
#include "core/quantized.h"
#include "quant/prepared_stats.h"
#include "quant/quantize.h"

namespace maca::quant {

// W (host F32 [rows, cols], finite) as double; throws maca::Error naming the layer.
std::vector<double> load_weight(const Tensor& W, const std::string& layer);

// The same with the columns of dead inputs (H_ii = 0) zeroed; throws naming
// the layer when prep is for another input count.
std::vector<double> load_weight(const Tensor& W, const PreparedStats& prep, const std::string& layer);

// Runs tile(t) for t in [0, tiles) on at most `max_parallel` threads (0: all);
// an exception from any tile is rethrown (the first by tile index) after all
// have run.
void for_each_tile(int64_t tiles, int max_parallel, const std::function<void(int64_t)>& tile);

// A result with the layer's shape, the grid settings of `opt` and the method's name.
QuantizedLinear new_result(int64_t rows, int64_t cols, const QuantOptions& opt, const char* method);

// out [rows, n] = w·D·A⁻¹ for rows of w [rows, n] (the target shift of
// algorithms.md §4 without α), where `factor` is A's Cholesky factor
// (cholesky(…, upper)); all on ctx's device. A row's bits depend only on its
// kRowTile tile.
void cross_term(backend::Context& ctx, const double* w, int64_t rows, int64_t n, const double* d,
                const double* factor, bool upper, double* out);

}  // namespace maca::quant
