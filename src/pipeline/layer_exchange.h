// Moving rounded layers between ranks: a QuantizedLinear as bytes, and the
// row slices that several ranks rounded with the same H joined back into one
// layer (design.md, "Distribution": rows split, slices all-gathered).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/quantized.h"

namespace maca::pipeline {

std::vector<uint8_t> pack_layer(const QuantizedLinear& q);
// Throws maca::Error on a truncated or inconsistent buffer.
QuantizedLinear unpack_layer(std::span<const uint8_t> bytes);

// Joins row slices given in row order (empty slices, rows == 0, are skipped).
// They must agree on cols, bits, group size, sym, g_idx and perm (the same H
// gives the same act-order permutation and groups on every rank); losses add.
QuantizedLinear join_row_slices(const std::vector<QuantizedLinear>& slices);

}  // namespace maca::pipeline
