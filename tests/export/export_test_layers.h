// Portable test layers for the export tests: every value follows from a seed
// through splitmix64 (no std distributions), so exported bytes are the same
// with any standard library and can be compared with recorded hashes.
#pragma once

#include <cmath>
#include <map>
#include <string>

#include "core/quantized.h"
#include "io/model_source.h"

namespace maca::test {

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A layer whose every value follows from `seed`; scales are fp16-exact, with
// act-order a random permutation and g_idx[perm[i]] = i / group.
inline QuantizedLinear portable_layer(int64_t rows, int64_t cols, int bits, int64_t group, bool sym, bool act_order,
                                      uint64_t seed) {
  uint64_t s = seed;
  QuantizedLinear q;
  q.rows = rows, q.cols = cols, q.bits = bits, q.group_size = group, q.sym = sym, q.act_order = act_order;
  q.method = "rtn";
  const int64_t g = group < 0 ? cols : group;
  const int64_t groups = (cols + g - 1) / g;
  const uint64_t levels = uint64_t{1} << bits;
  for (int64_t i = 0; i < rows * cols; ++i) q.codes.push_back(static_cast<uint8_t>(splitmix64(s) % levels));
  for (int64_t i = 0; i < groups * rows; ++i) {
    q.zeros.push_back(sym ? 1 << (bits - 1) : static_cast<int32_t>(splitmix64(s) % levels));
    const float mantissa = 1.0f + static_cast<float>(splitmix64(s) % 1024) / 1024.0f;
    q.scales.push_back(std::ldexp(mantissa, -(bits + 4)));
  }
  for (int64_t k = 0; k < cols; ++k) q.perm.push_back(static_cast<int32_t>(k));
  if (act_order)
    for (int64_t i = cols - 1; i > 0; --i) std::swap(q.perm[i], q.perm[splitmix64(s) % static_cast<uint64_t>(i + 1)]);
  q.g_idx.resize(static_cast<size_t>(cols));
  for (int64_t i = 0; i < cols; ++i) q.g_idx[q.perm[i]] = static_cast<int32_t>(i / g);
  return q;
}

// Every linear ("*_proj") of `source`, seeded 1, 2, ... in the source's tensor order.
inline std::map<std::string, QuantizedLinear> fixture_layers(const io::ModelSource& source, int bits, int64_t group,
                                                             bool sym, bool act_order) {
  std::map<std::string, QuantizedLinear> layers;
  uint64_t seed = 1;
  for (const std::string& name : source.tensor_names()) {
    if (name.find("_proj.weight") == std::string::npos) continue;
    const Shape shape = source.tensor_shape(name);
    layers[name.substr(0, name.size() - 7)] = portable_layer(shape[0], shape[1], bits, group, sym, act_order, seed++);
  }
  return layers;
}

}  // namespace maca::test
