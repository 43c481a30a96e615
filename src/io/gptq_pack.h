// GPTQ checkpoint packing (formats.md, "GPTQ checkpoint"): the int32 words of
// qweight and qzeros, and the conversion between one layer's checkpoint
// tensors and a QuantizedLinear.
//
// Both tensors are bit streams of b-bit values, lowest bits first: every 32
// values fill b words and value j of a block sits at bit b·j of the block. For
// b = 2, 4, 8 that is 32/b values per word; for b = 3 it is the 10 + split +
// 10 + split + 10 layout of formats.md. qweight packs codes along the input
// dimension K ([K·b/32, N]); qzeros packs zero points along the output
// dimension N ([groups, N·b/32]). The writer (gptq_export), the reader
// (gptq_model) and `maca inspect` all go through the functions here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/quantized.h"
#include "core/tensor.h"

namespace maca::io {

// checkpoint_format: "gptq" (v1) stores zero − 1 (mod 2^b) and loaders add 1;
// "gptq_v2" stores the zero point itself.
enum class GptqFormat { V1, V2 };

const char* gptq_format_name(GptqFormat format);  // "gptq" | "gptq_v2"
// Parses "gptq" / "gptq_v2"; throws ConfigError naming `where` otherwise.
GptqFormat parse_gptq_format(const std::string& name, const std::string& where);

// Number of values a packed dimension must be a multiple of for `bits`
// (32/b for b = 2, 4, 8; 32 for b = 3).
int64_t gptq_pack_multiple(int bits);

// Codes [rows = N, cols = K] row-major (QuantizedLinear order) -> qweight
// [K·bits/32, N]. Throws maca::Error naming `layer` for unsupported bits or a
// K that is not a multiple of gptq_pack_multiple(bits). Codes must be < 2^bits.
std::vector<int32_t> pack_qweight(const std::vector<uint8_t>& codes, int64_t rows, int64_t cols, int bits,
                                  const std::string& layer);
// The inverse: qweight [cols·bits/32, rows] -> codes [rows, cols].
std::vector<uint8_t> unpack_qweight(const int32_t* qweight, int64_t rows, int64_t cols, int bits,
                                    const std::string& layer);

// Zero points [groups, rows] -> qzeros [groups, rows·bits/32] in `format`.
// Throws maca::Error naming `layer` when rows is not a multiple of
// gptq_pack_multiple(bits), or when a zero point of 0 is to be stored as v1
// (it would load as 2^bits; use gptq_v2).
std::vector<int32_t> pack_qzeros(const std::vector<int32_t>& zeros, int64_t groups, int64_t rows, int bits,
                                 GptqFormat format, const std::string& layer);
// The inverse. For v1 a stored 2^bits − 1 means zero point 2^bits, outside the
// code range: throws FileError naming `layer`.
std::vector<int32_t> unpack_qzeros(const int32_t* qzeros, int64_t groups, int64_t rows, int bits, GptqFormat format,
                                   const std::string& layer);

// One quantized linear as stored: qweight, qzeros, g_idx (I32) and scales
// (F16 as written; F32/BF16 are accepted on read).
struct GptqTensors {
  Tensor qweight, qzeros, scales, g_idx;
};

// The quantization_config settings a reader needs to decode a layer.
struct GptqSettings {
  int bits = 4;
  int64_t group_size = 128;  // -1: one group over all of K
  bool sym = true;
  bool desc_act = false;
  bool static_groups = false;
  GptqFormat format = GptqFormat::V1;
};

// Packs `q`. Throws maca::Error naming `layer` for packing constraints (see
// above), codes/zeros/g_idx out of range, or inconsistent sizes.
GptqTensors pack_gptq_layer(const QuantizedLinear& q, GptqFormat format, const std::string& layer);

// Unpacks and validates one stored layer: dtypes, shapes consistent with each
// other and with `s` (qweight [K·b/32, N], qzeros [G, N·b/32], scales [G, N],
// g_idx [K], G = ceil(K/group)), g_idx in [0, G), scales finite and > 0, v1
// zeros in range. Throws FileError naming `layer` and the offending tensor.
// The result has act_order = (g_idx not monotone) and perm = the columns
// sorted by group (the original processing order is not stored).
QuantizedLinear unpack_gptq_layer(const GptqTensors& t, const GptqSettings& s, const std::string& layer);

}  // namespace maca::io
