// GGUF reader (v3, v2 accepted): typed metadata, tensor table, dequantization to fp32.
//
// The file is memory-mapped; every structure is validated on open (magic,
// version, counts, string and array lengths inside the file, tensor offsets
// and sizes inside the data region, alignment, no overlaps, known ggml types)
// and every failure is a FileError that names the file and the key or tensor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace maca::io {

// ggml tensor types (values as in ggml.h).
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15, BF16 = 30,
};
const char* ggml_type_name(GgmlType t);

// One metadata value. Integers keep their signedness; arrays hold values of
// one element type.
struct GgufValue {
  using Array = std::vector<GgufValue>;
  std::variant<uint64_t, int64_t, double, bool, std::string, Array> v;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ggml dims, ne[0] is the contiguous one
  GgmlType type{};
  uint64_t offset = 0;  // relative to the data region
  uint64_t nbytes = 0;
};

class GgufFile {
 public:
  // Throws FileError (naming the file and what is wrong) on damaged input.
  static std::shared_ptr<GgufFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const;
  uint32_t version() const;
  const std::map<std::string, GgufValue>& metadata() const;
  const GgufValue* find(const std::string& key) const;

  // Typed getters; throw FileError naming the file and key when the key is
  // missing or has another type. Integer getters accept any integer type.
  std::string get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;  // accepts integers too
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<double> get_float_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const;
  const GgufTensorInfo* find_tensor(const std::string& name) const;  // null if absent

  // fp32 host tensor of shape [ne[n-1], ..., ne[0]] (row-major, PyTorch order).
  Tensor dequantize(const GgufTensorInfo& info) const;

 private:
  GgufFile() = default;
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Dequantizes `n` values (a multiple of the type's block size) of raw ggml
// data to fp32. Bit-exact with gguf-py's gguf.quants.dequantize.
void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n);
// Bytes of `n` values of `type`; throws FileError for an unsupported type or
// when `n` is not a whole number of blocks.
uint64_t ggml_nbytes(GgmlType type, int64_t n);
// Whether dequantize_row handles `type`.
bool ggml_type_supported(GgmlType type);
// Values per block (1 for F32/F16/BF16); throws FileError for an unsupported type.
int ggml_block_size(GgmlType type);

}  // namespace maca::io
