// GPTQ's options and its lazy-batch loop (algorithms.md §2), shared by the
// gptq method (gptq.cpp) and GPTAQ's driver (gptaq.cpp), which rounds the same
// way towards a shifted target. Internal to the quant area.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backend/context.h"
#include "config/config.h"
#include "core/quantized.h"
#include "quant/prepared_stats.h"
#include "quant/quantize.h"

namespace maca::quant {

// Which values GPTQ's dynamic groups take their scale/zero from, when the loop
// reaches a group's first column. current: the group's columns with every
// error update so far (maca's default). block_start: the columns as they were
// when the enclosing lazy block began, i.e. without the updates from earlier
// columns of the same block, as the GPTQ reference (and GPTQModel) do.
enum class GroupParams { Current, BlockStart };

// quant.gptq.* (read by gptq and gptaq).
struct GptqOptions {
  bool act_order = false;
  bool static_groups = false;
  int64_t block_size = 128;  // lazy-batch width
  GroupParams group_params = GroupParams::Current;
};
void declare_gptq_options(config::Schema& schema);
GptqOptions read_gptq_options(const config::Config& cfg);

// What the loop needs prepared: H⁻¹'s factor in processing order (act-order
// or input order), and for GPTAQ's target shift H_λ's factor and D.
PrepRequest gptq_request(const GptqOptions& opt, bool asymmetric);

// A layer ready for the loop: the weight (dead inputs zeroed), the group's
// prepared statistics, the result with its permutation and groups filled in.
struct GptqLayer {
  std::vector<double> w{};  // [rows, cols], original order
  const PreparedStats* prep = nullptr;
  std::vector<int32_t> grp{};  // group of each processing-order column
  QuantizedLinear q{};
};
GptqLayer gptq_prepare(const Tensor& W, const PreparedStats& prep, const QuantOptions& grid, const GptqOptions& opt,
                       const std::string& layer, const char* method);

// Edits rows [r0, r0 + nr) of the layer (w: [nr, cols], original order, on
// ctx's device; r0 a multiple of kRowTile) before they are rounded.
using RowTransform = std::function<void(backend::Context& ctx, double* w, int64_t r0, int64_t nr)>;

// Rounds every row into l.q on ctx's device (chunks of whole row tiles) and
// sets l.q.loss; `transform` may be empty.
void gptq_round(backend::Context& ctx, GptqLayer& l, const QuantOptions& grid, const GptqOptions& opt,
                const RowTransform& transform);

}  // namespace maca::quant
