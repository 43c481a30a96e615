#include "io/gptq_pack.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"
#include "core/half.h"

namespace maca::io {

namespace {

constexpr const char* kBitsMessage =
    "layer '{}': {}-bit codes cannot be stored in a GPTQ checkpoint (it holds 2, "
    "3, 4 or 8 bits)";

bool bits_supported(int bits) { return bits == 2 || bits == 3 || bits == 4 || bits == 8; }

void check_bits(int bits, const std::string& layer) {
  if (!bits_supported(bits)) MACA_THROW(Error, kBitsMessage, layer, bits);
}

void check_multiple(int64_t count, int bits, const char* what, const std::string& layer) {
  check_bits(bits, layer);
  const int64_t m = gptq_pack_multiple(bits);
  if (count % m != 0)
    MACA_THROW(Error, "layer '{}': {} = {} is not a multiple of {}, which {}-bit GPTQ packing needs", layer, what,
               count, m, bits);
}

// `count` b-bit values -> count·b/32 words; value i at bit i·b of the stream.
void pack_stream(const uint32_t* values, int64_t count, int bits, uint32_t* words) {
  std::fill(words, words + count * bits / 32, 0u);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t bit = i * bits;
    const int64_t w = bit / 32;
    const int off = static_cast<int>(bit % 32);
    words[w] |= values[i] << off;
    if (off + bits > 32) words[w + 1] |= values[i] >> (32 - off);
  }
}

void unpack_stream(const uint32_t* words, int64_t count, int bits, uint32_t* values) {
  const uint32_t mask = (1u << bits) - 1;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t bit = i * bits;
    const int64_t w = bit / 32;
    const int off = static_cast<int>(bit % 32);
    uint32_t v = words[w] >> off;
    if (off + bits > 32) v |= words[w + 1] << (32 - off);
    values[i] = v & mask;
  }
}

[[noreturn]] void bad_tensor(const std::string& layer, const char* tensor, const std::string& what) {
  MACA_THROW(FileError, "GPTQ layer '{}': tensor '{}.{}' {}; the checkpoint is damaged or not a GPTQ export", layer,
             layer, tensor, what);
}

void expect_tensor(const Tensor& t, const std::string& layer, const char* tensor, const Shape& shape, bool int32) {
  if (!t.defined()) bad_tensor(layer, tensor, "is missing");
  if (int32 && t.dtype() != DType::I32)
    bad_tensor(layer, tensor, fmt::format("has dtype {}, expected i32", dtype_name(t.dtype())));
  if (!int32 && t.dtype() != DType::F16 && t.dtype() != DType::F32 && t.dtype() != DType::BF16)
    bad_tensor(layer, tensor, fmt::format("has dtype {}, expected f16", dtype_name(t.dtype())));
  if (t.shape() != shape)
    bad_tensor(layer, tensor, fmt::format("has shape {}, expected {}", shape_str(t.shape()), shape_str(shape)));
}

int64_t group_count(int64_t cols, int64_t group_size) {
  return group_size <= 0 ? 1 : (cols + group_size - 1) / group_size;
}

}  // namespace

const char* gptq_format_name(GptqFormat format) { return format == GptqFormat::V1 ? "gptq" : "gptq_v2"; }

GptqFormat parse_gptq_format(const std::string& name, const std::string& where) {
  if (name == "gptq") return GptqFormat::V1;
  if (name == "gptq_v2") return GptqFormat::V2;
  MACA_THROW(ConfigError, "{}: checkpoint_format '{}' is not one of gptq, gptq_v2", where, name);
}

int64_t gptq_pack_multiple(int bits) { return 32 / std::gcd(bits, 32); }

std::vector<int32_t> pack_qweight(const std::vector<uint8_t>& codes, int64_t rows, int64_t cols, int bits,
                                  const std::string& layer) {
  check_multiple(cols, bits, "in features K", layer);
  MACA_CHECK(static_cast<int64_t>(codes.size()) == rows * cols, "layer '{}': {} codes for a [{}, {}] weight", layer,
             codes.size(), rows, cols);
  const int64_t words = cols * bits / 32;
  std::vector<int32_t> out(static_cast<size_t>(words * rows));
  std::vector<uint32_t> column(static_cast<size_t>(cols)), packed(static_cast<size_t>(words));
  for (int64_t n = 0; n < rows; ++n) {
    for (int64_t k = 0; k < cols; ++k) {
      const uint32_t c = codes[static_cast<size_t>(n * cols + k)];
      MACA_CHECK(c < (1u << bits), "layer '{}': code {} at [{}, {}] does not fit in {} bits", layer, c, n, k, bits);
      column[static_cast<size_t>(k)] = c;
    }
    pack_stream(column.data(), cols, bits, packed.data());
    for (int64_t w = 0; w < words; ++w) out[static_cast<size_t>(w * rows + n)] = static_cast<int32_t>(packed[w]);
  }
  return out;
}

std::vector<uint8_t> unpack_qweight(const int32_t* qweight, int64_t rows, int64_t cols, int bits,
                                    const std::string& layer) {
  check_multiple(cols, bits, "in features K", layer);
  const int64_t words = cols * bits / 32;
  std::vector<uint8_t> codes(static_cast<size_t>(rows * cols));
  std::vector<uint32_t> packed(static_cast<size_t>(words)), column(static_cast<size_t>(cols));
  for (int64_t n = 0; n < rows; ++n) {
    for (int64_t w = 0; w < words; ++w) packed[w] = static_cast<uint32_t>(qweight[w * rows + n]);
    unpack_stream(packed.data(), cols, bits, column.data());
    for (int64_t k = 0; k < cols; ++k) codes[static_cast<size_t>(n * cols + k)] = static_cast<uint8_t>(column[k]);
  }
  return codes;
}

std::vector<int32_t> pack_qzeros(const std::vector<int32_t>& zeros, int64_t groups, int64_t rows, int bits,
                                 GptqFormat format, const std::string& layer) {
  check_multiple(rows, bits, "out features N", layer);
  MACA_CHECK(static_cast<int64_t>(zeros.size()) == groups * rows, "layer '{}': {} zero points for {} groups x {} rows",
             layer, zeros.size(), groups, rows);
  const int32_t max = (1 << bits) - 1;
  std::vector<uint32_t> stored(zeros.size());
  for (size_t i = 0; i < zeros.size(); ++i) {
    const int32_t z = zeros[i];
    MACA_CHECK(z >= 0 && z <= max, "layer '{}': zero point {} does not fit in {} bits", layer, z, bits);
    if (format == GptqFormat::V1 && z == 0)
      MACA_THROW(Error,
                 "layer '{}': zero point 0 cannot be stored in checkpoint_format gptq (v1 stores zero - 1, loaders "
                 "would read {}); export with checkpoint_format gptq_v2",
                 layer, max + 1);
    stored[i] = static_cast<uint32_t>(format == GptqFormat::V1 ? z - 1 : z);
  }
  const int64_t words = rows * bits / 32;
  std::vector<int32_t> out(static_cast<size_t>(groups * words));
  for (int64_t g = 0; g < groups; ++g)
    pack_stream(stored.data() + g * rows, rows, bits, reinterpret_cast<uint32_t*>(out.data() + g * words));
  return out;
}

std::vector<int32_t> unpack_qzeros(const int32_t* qzeros, int64_t groups, int64_t rows, int bits, GptqFormat format,
                                   const std::string& layer) {
  check_multiple(rows, bits, "out features N", layer);
  const int64_t words = rows * bits / 32;
  const uint32_t max = (1u << bits) - 1;
  std::vector<uint32_t> stored(static_cast<size_t>(groups * rows));
  for (int64_t g = 0; g < groups; ++g)
    unpack_stream(reinterpret_cast<const uint32_t*>(qzeros + g * words), rows, bits, stored.data() + g * rows);
  std::vector<int32_t> zeros(stored.size());
  for (size_t i = 0; i < stored.size(); ++i) {
    if (format == GptqFormat::V1 && stored[i] == max)
      MACA_THROW(FileError,
                 "GPTQ layer '{}': qzeros holds {} at group {}, row {}, which checkpoint_format gptq reads as zero "
                 "point {}, outside the {}-bit code range; the checkpoint is damaged or its format is gptq_v2",
                 layer, max, static_cast<int64_t>(i) / rows, static_cast<int64_t>(i) % rows, max + 1, bits);
    zeros[i] = static_cast<int32_t>(format == GptqFormat::V1 ? stored[i] + 1 : stored[i]);
  }
  return zeros;
}

GptqTensors pack_gptq_layer(const QuantizedLinear& q, GptqFormat format, const std::string& layer) {
  const int64_t groups = group_count(q.cols, q.group_size);
  MACA_CHECK(q.n_groups() == groups && static_cast<int64_t>(q.scales.size()) == groups * q.rows,
             "layer '{}': {} scales for {} groups x {} rows (group size {}, {} in features)", layer, q.scales.size(),
             groups, q.rows, q.group_size, q.cols);
  MACA_CHECK(static_cast<int64_t>(q.g_idx.size()) == q.cols, "layer '{}': g_idx has {} entries for {} in features",
             layer, q.g_idx.size(), q.cols);
  for (const int32_t g : q.g_idx)
    MACA_CHECK(g >= 0 && g < groups, "layer '{}': g_idx entry {} outside [0, {})", layer, g, groups);

  GptqTensors t;
  const std::vector<int32_t> qweight = pack_qweight(q.codes, q.rows, q.cols, q.bits, layer);
  t.qweight = Tensor::empty({q.cols * q.bits / 32, q.rows}, DType::I32);
  std::copy(qweight.begin(), qweight.end(), t.qweight.data<int32_t>());
  const std::vector<int32_t> qzeros = pack_qzeros(q.zeros, groups, q.rows, q.bits, format, layer);
  t.qzeros = Tensor::empty({groups, q.rows * q.bits / 32}, DType::I32);
  std::copy(qzeros.begin(), qzeros.end(), t.qzeros.data<int32_t>());
  t.scales = Tensor::empty({groups, q.rows}, DType::F16);
  for (size_t i = 0; i < q.scales.size(); ++i) {
    const uint16_t h = f32_to_f16(q.scales[i]);
    MACA_CHECK(f16_to_f32(h) == q.scales[i], "layer '{}': scale {} is not representable in fp16", layer, q.scales[i]);
    t.scales.data<uint16_t>()[i] = h;
  }
  t.g_idx = Tensor::empty({q.cols}, DType::I32);
  std::copy(q.g_idx.begin(), q.g_idx.end(), t.g_idx.data<int32_t>());
  return t;
}

QuantizedLinear unpack_gptq_layer(const GptqTensors& t, const GptqSettings& s, const std::string& layer) {
  if (!bits_supported(s.bits)) MACA_THROW(FileError, kBitsMessage, layer, s.bits);
  if (!t.g_idx.defined()) bad_tensor(layer, "g_idx", "is missing");
  if (!t.qweight.defined()) bad_tensor(layer, "qweight", "is missing");
  if (t.g_idx.ndim() != 1)
    bad_tensor(layer, "g_idx", fmt::format("has shape {}, expected [K]", shape_str(t.g_idx.shape())));
  if (t.qweight.ndim() != 2)
    bad_tensor(layer, "qweight", fmt::format("has shape {}, expected [K*bits/32, N]", shape_str(t.qweight.shape())));
  const int64_t cols = t.g_idx.dim(0), rows = t.qweight.dim(1);
  const int64_t multiple = gptq_pack_multiple(s.bits);
  if (cols % multiple != 0)
    bad_tensor(layer, "g_idx",
               fmt::format("has {} entries (in features), not a multiple of {} as {}-bit packing needs", cols, multiple,
                           s.bits));
  if (rows % multiple != 0)
    bad_tensor(layer, "qweight",
               fmt::format("has {} columns (out features), not a multiple of {} as {}-bit packing needs", rows,
                           multiple, s.bits));
  const int64_t groups = group_count(cols, s.group_size);
  expect_tensor(t.qweight, layer, "qweight", {cols * s.bits / 32, rows}, true);
  expect_tensor(t.qzeros, layer, "qzeros", {groups, rows * s.bits / 32}, true);
  expect_tensor(t.scales, layer, "scales", {groups, rows}, false);
  expect_tensor(t.g_idx, layer, "g_idx", {cols}, true);

  QuantizedLinear q;
  q.rows = rows;
  q.cols = cols;
  q.bits = s.bits;
  q.group_size = s.group_size;
  q.sym = s.sym;
  q.static_groups = s.static_groups;
  q.method = "gptq";
  q.codes = unpack_qweight(t.qweight.data<int32_t>(), rows, cols, s.bits, layer);
  q.zeros = unpack_qzeros(t.qzeros.data<int32_t>(), groups, rows, s.bits, s.format, layer);
  const Tensor scales = t.scales.to_f32();
  q.scales.assign(scales.data<float>(), scales.data<float>() + scales.numel());
  for (size_t i = 0; i < q.scales.size(); ++i)
    if (!std::isfinite(q.scales[i]) || q.scales[i] <= 0)
      bad_tensor(layer, "scales",
                 fmt::format("holds {} at group {}, row {}; scales must be finite and > 0", q.scales[i],
                             static_cast<int64_t>(i) / rows, static_cast<int64_t>(i) % rows));
  q.g_idx.assign(t.g_idx.data<int32_t>(), t.g_idx.data<int32_t>() + cols);
  for (int64_t k = 0; k < cols; ++k)
    if (q.g_idx[k] < 0 || q.g_idx[k] >= groups)
      bad_tensor(layer, "g_idx", fmt::format("holds {} at column {}, outside [0, {})", q.g_idx[k], k, groups));
  q.act_order = !std::is_sorted(q.g_idx.begin(), q.g_idx.end());
  q.perm.resize(static_cast<size_t>(cols));
  std::iota(q.perm.begin(), q.perm.end(), 0);
  std::stable_sort(q.perm.begin(), q.perm.end(), [&](int32_t a, int32_t b) { return q.g_idx[a] < q.g_idx[b]; });
  return q;
}

}  // namespace maca::io
