// Rounding one linear layer given its calibration statistics
// (algorithms.md §1–2, GPTAQ of §4). Rows are independent in every method, so
// a caller may round a slice of rows [row_begin, row_end) with the same H and
// get the same result as the full layer (issue 4 splits rows over ranks).
#pragma once

#include <cstdint>
#include <string>

#include "core/quantized.h"
#include "core/tensor.h"

namespace maca::quant {

enum class Method { Rtn, Gptq, Gptaq };
Method parse_method(const std::string& s);  // rtn|gptq|gptaq; throws ConfigError listing the choices
const char* method_name(Method m);

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

// Which values GPTQ's dynamic groups take their scale/zero from, when the loop
// reaches a group's first column. current: the group's columns with every
// error update so far (maca's default). block_start: the columns as they were
// when the enclosing lazy block began, i.e. without the updates from earlier
// columns of the same block, as the GPTQ reference (and GPTQModel) do.
enum class GroupParams { Current, BlockStart };
GroupParams parse_group_params(const std::string& s);

struct QuantOptions {
  Method method = Method::Gptq;
  int bits = 4;               // 2, 3, 4, 8
  int64_t group_size = 128;   // -1, 32, 64, 128 (a divisor of the columns, see partial_groups)
  bool partial_groups = false;  // allow a shorter last group when group_size does not divide the columns
  bool sym = true;
  bool act_order = false;
  bool static_groups = false;
  double damp = 0.01;         // relative: λ·mean(diag H)
  int damp_retries = 6;       // λ *= 10 per failed Cholesky, at most this many times
  int64_t block_size = 128;   // lazy-batch width
  ClipSearch clip;
  double alpha = 0.25;        // GPTAQ interpolation
  ScaleRounding scale_rounding = ScaleRounding::Nearest;  // RTN recipes set down (docs/results.md)
  GroupParams group_params = GroupParams::Current;
};

// Checks bits/group size/etc. against a layer with `cols` inputs; throws
// ConfigError naming the option (and the layer) on a bad value.
void validate(const QuantOptions& opt, int64_t cols, const std::string& layer);

// W: F32 [rows, cols]; H: F32 [cols, cols] (required except for RTN);
// D: F32 [cols, cols] (GPTAQ only). `layer` names the layer in warnings and
// errors (damping retries). Never returns NaN: a Hessian that stays singular
// after all retries is an error naming the layer.
// Rows per independently rounded tile. GPTQ/GPTAQ round a layer in tiles of
// this many rows counted from its first row (each tile single-threaded), so a
// row slice that starts at a multiple of kRowTile gives the same bits as the
// same rows of the whole layer, for any thread count.
constexpr int64_t kRowTile = 32;

QuantizedLinear quantize_linear(const Tensor& W, const Tensor* H, const Tensor* D, const QuantOptions& opt,
                                const std::string& layer);

}  // namespace maca::quant
