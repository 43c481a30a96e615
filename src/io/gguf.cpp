#include "io/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "core/error.h"

namespace maca::io {
namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;        // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;       // arrays of arrays nest at most this deep
constexpr const char* kDamaged = "the file is truncated or damaged; download or convert it again";

// GGUF metadata value types (gguf.md).
enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
  String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};

// Smallest encoded size of one value of type `t` (0 for an unknown type).
uint64_t min_value_size(ValueType t) {
  switch (t) {
    case ValueType::U8: case ValueType::I8: case ValueType::Bool: return 1;
    case ValueType::U16: case ValueType::I16: return 2;
    case ValueType::U32: case ValueType::I32: case ValueType::F32: return 4;
    case ValueType::U64: case ValueType::I64: case ValueType::F64: return 8;
    case ValueType::String: return 8;  // the length
    case ValueType::Array: return 12;  // element type + count
  }
  return 0;
}

const char* value_kind(const GgufValue& v) {
  switch (v.v.index()) {
    case 0: return "unsigned integer";
    case 1: return "signed integer";
    case 2: return "float";
    case 3: return "bool";
    case 4: return "string";
    default: return "array";
  }
}

// Bounds-checked little-endian reader over the mapped file. Every failure
// names the file, what was being read and the byte offset.
class Cursor {
 public:
  explicit Cursor(const MappedFile& f) : f_(f) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return f_.size() - pos_; }

  [[noreturn]] void fail(const std::string& what, const std::string& hint = kDamaged) const {
    MACA_THROW(FileError, "GGUF '{}': {} (at byte {} of {}); {}", f_.path().string(), what, pos_, f_.size(), hint);
  }

  template <class T>
  T read(const std::string& what) {
    if (remaining() < sizeof(T)) fail(fmt::format("{} runs past the end of the file", what));
    T v;
    std::memcpy(&v, f_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const std::string& what) {
    const uint64_t len = read<uint64_t>(what + " length");
    if (len > remaining()) fail(fmt::format("{} claims {} bytes, past the end of the file", what, len));
    std::string s(reinterpret_cast<const char*>(f_.data() + pos_), len);
    pos_ += len;
    return s;
  }

  // A count of items that take at least `min_item` bytes each; rejects counts
  // that could not fit in the rest of the file before anything is allocated.
  uint64_t read_count(const std::string& what, uint64_t min_item) {
    const uint64_t n = read<uint64_t>(what);
    if (min_item > 0 && n > remaining() / min_item)
      fail(fmt::format("{} is {}, more than the rest of the file can hold", what, n));
    return n;
  }

  void seek(uint64_t p) { pos_ = p; }

 private:
  const MappedFile& f_;
  uint64_t pos_ = 0;
};

GgufValue read_value(Cursor& c, ValueType t, const std::string& key, int depth) {
  switch (t) {
    case ValueType::U8: return {uint64_t{c.read<uint8_t>(key)}};
    case ValueType::U16: return {uint64_t{c.read<uint16_t>(key)}};
    case ValueType::U32: return {uint64_t{c.read<uint32_t>(key)}};
    case ValueType::U64: return {c.read<uint64_t>(key)};
    case ValueType::I8: return {int64_t{c.read<int8_t>(key)}};
    case ValueType::I16: return {int64_t{c.read<int16_t>(key)}};
    case ValueType::I32: return {int64_t{c.read<int32_t>(key)}};
    case ValueType::I64: return {c.read<int64_t>(key)};
    case ValueType::F32: return {double{c.read<float>(key)}};
    case ValueType::F64: return {c.read<double>(key)};
    case ValueType::Bool: {
      const uint8_t b = c.read<uint8_t>(key);
      if (b > 1) c.fail(fmt::format("metadata '{}' is a bool with value {}", key, b));
      return {b == 1};
    }
    case ValueType::String: return {c.read_string("metadata '" + key + "'")};
    case ValueType::Array: {
      if (depth >= kMaxArrayDepth) c.fail(fmt::format("metadata '{}' nests arrays deeper than {}", key, kMaxArrayDepth));
      const auto et = static_cast<ValueType>(c.read<uint32_t>(key + " array type"));
      const uint64_t min = min_value_size(et);
      if (min == 0) c.fail(fmt::format("metadata '{}' has unknown array element type {}", key, static_cast<uint32_t>(et)));
      const uint64_t n = c.read_count("metadata '" + key + "' array length", min);
      GgufValue::Array a;
      a.reserve(n);
      for (uint64_t i = 0; i < n; ++i) a.push_back(read_value(c, et, key, depth + 1));
      return {std::move(a)};
    }
  }
  c.fail(fmt::format("metadata '{}' has unknown value type {}", key, static_cast<uint32_t>(t)));
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

struct GgufFile::Impl {
  std::shared_ptr<MappedFile> file;
  uint32_t version = 0;
  std::map<std::string, GgufValue> metadata;
  std::vector<GgufTensorInfo> tensors;
  std::unordered_map<std::string, size_t> by_name;
  uint64_t data_start = 0;

  [[noreturn]] void key_error(const std::string& key, const std::string& what) const {
    MACA_THROW(FileError, "GGUF '{}': metadata '{}' {}; the file does not describe a model maca can read",
               file->path().string(), key, what);
  }
  const GgufValue& need(const std::string& key) const {
    const auto it = metadata.find(key);
    if (it == metadata.end()) key_error(key, "is missing");
    return it->second;
  }
  [[noreturn]] void wrong_type(const std::string& key, const GgufValue& v, const char* want) const {
    key_error(key, fmt::format("is a {}, expected {}", value_kind(v), want));
  }
  int64_t as_int(const std::string& key, const GgufValue& v) const {
    if (const auto* u = std::get_if<uint64_t>(&v.v)) {
      if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) key_error(key, "is too large");
      return static_cast<int64_t>(*u);
    }
    if (const auto* i = std::get_if<int64_t>(&v.v)) return *i;
    wrong_type(key, v, "an integer");
  }
  double as_float(const std::string& key, const GgufValue& v) const {
    if (const auto* d = std::get_if<double>(&v.v)) return *d;
    if (std::holds_alternative<uint64_t>(v.v) || std::holds_alternative<int64_t>(v.v))
      return static_cast<double>(as_int(key, v));
    wrong_type(key, v, "a number");
  }
  const GgufValue::Array& as_array(const std::string& key) const {
    const GgufValue& v = need(key);
    if (const auto* a = std::get_if<GgufValue::Array>(&v.v)) return *a;
    wrong_type(key, v, "an array");
  }

  void parse();
  void parse_tensor_infos(Cursor& c, uint64_t n_tensors);
  void check_layout(Cursor& c);
};

void GgufFile::Impl::parse() {
  Cursor c(*file);
  const uint32_t magic = c.read<uint32_t>("magic");
  if (std::memcmp(&magic, "GGUF", 4) != 0)
    c.fail("does not start with the GGUF magic", "expected a .gguf model file (llama.cpp format)");
  version = c.read<uint32_t>("version");
  if (version != 2 && version != 3)
    c.fail(fmt::format("has GGUF version {}", version),
           "maca reads little-endian GGUF v2 and v3; convert the model with a current llama.cpp");
  // Each tensor info takes at least 32 bytes, each metadata entry at least 13.
  const uint64_t n_tensors = c.read_count("tensor count", 32);
  const uint64_t n_kv = c.read_count("metadata count", 13);
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.read_string(fmt::format("metadata key #{}", i));
    const auto t = static_cast<ValueType>(c.read<uint32_t>("metadata '" + key + "' type"));
    GgufValue v = read_value(c, t, key, 0);
    if (!metadata.emplace(key, std::move(v)).second) c.fail(fmt::format("metadata key '{}' appears twice", key));
  }
  parse_tensor_infos(c, n_tensors);
  check_layout(c);
}

void GgufFile::Impl::parse_tensor_infos(Cursor& c, uint64_t n_tensors) {
  tensors.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = c.read_string(fmt::format("tensor #{} name", i));
    const std::string where = "tensor '" + t.name + "'";
    const uint32_t n_dims = c.read<uint32_t>(where + " dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) c.fail(fmt::format("{} has {} dimensions (1 to {} allowed)", where, n_dims, kMaxDims));
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = c.read<uint64_t>(where + " dimension");
      if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
          (ne > 0 && numel > std::numeric_limits<int64_t>::max() / static_cast<int64_t>(ne)))
        c.fail(fmt::format("{} has an impossible dimension {}", where, ne));
      t.ne.push_back(static_cast<int64_t>(ne));
      numel *= static_cast<int64_t>(ne);
    }
    const uint32_t type_id = c.read<uint32_t>(where + " type");
    t.type = static_cast<GgmlType>(type_id);
    if (!ggml_type_supported(t.type))
      c.fail(fmt::format("{} has ggml type id {} ({}), which maca cannot read", where, type_id, ggml_type_name(t.type)),
             "supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K; convert the model to one of them");
    if (t.ne[0] % ggml_block_size(t.type) != 0)
      c.fail(fmt::format("{} has rows of {} values, not a multiple of the {} block size {}", where, t.ne[0],
                         ggml_type_name(t.type), ggml_block_size(t.type)));
    t.nbytes = ggml_nbytes(t.type, numel);
    t.offset = c.read<uint64_t>(where + " offset");
    if (!by_name.emplace(t.name, tensors.size()).second) c.fail(fmt::format("{} appears twice", where));
    tensors.push_back(std::move(t));
  }
}

void GgufFile::Impl::check_layout(Cursor& c) {
  uint64_t alignment = kDefaultAlignment;
  if (const auto it = metadata.find("general.alignment"); it != metadata.end()) {
    const int64_t a = as_int("general.alignment", it->second);
    if (a <= 0 || (a & (a - 1)) != 0) key_error("general.alignment", fmt::format("is {}, not a power of two", a));
    alignment = static_cast<uint64_t>(a);
  }
  data_start = align_up(c.pos(), alignment);
  const uint64_t size = file->size();
  if (tensors.empty()) return;
  if (data_start > size) c.fail("the tensor data region starts past the end of the file");
  const uint64_t data_size = size - data_start;
  for (const GgufTensorInfo& t : tensors) {
    if (t.offset % alignment != 0)
      c.fail(fmt::format("tensor '{}' data offset {} is not a multiple of the alignment {}", t.name, t.offset, alignment));
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      c.fail(fmt::format("tensor '{}' data [{}, +{}) lies outside the {}-byte data region", t.name, t.offset, t.nbytes,
                         data_size));
  }
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors[a].offset < tensors[b].offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const GgufTensorInfo& prev = tensors[order[i - 1]];
    const GgufTensorInfo& cur = tensors[order[i]];
    if (cur.offset < prev.offset + prev.nbytes)
      c.fail(fmt::format("tensors '{}' and '{}' overlap in the data region", prev.name, cur.name));
  }
}

std::shared_ptr<GgufFile> GgufFile::open(const std::filesystem::path& path) {
  std::shared_ptr<GgufFile> g(new GgufFile());
  g->impl_ = std::make_shared<Impl>();
  g->impl_->file = MappedFile::open(path);
  g->impl_->parse();
  return g;
}

const std::filesystem::path& GgufFile::path() const { return impl_->file->path(); }
uint32_t GgufFile::version() const { return impl_->version; }
const std::map<std::string, GgufValue>& GgufFile::metadata() const { return impl_->metadata; }

const GgufValue* GgufFile::find(const std::string& key) const {
  const auto it = impl_->metadata.find(key);
  return it == impl_->metadata.end() ? nullptr : &it->second;
}

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue& v = impl_->need(key);
  if (const auto* s = std::get_if<std::string>(&v.v)) return *s;
  impl_->wrong_type(key, v, "a string");
}

int64_t GgufFile::get_int(const std::string& key) const { return impl_->as_int(key, impl_->need(key)); }
double GgufFile::get_float(const std::string& key) const { return impl_->as_float(key, impl_->need(key)); }

bool GgufFile::get_bool(const std::string& key) const {
  const GgufValue& v = impl_->need(key);
  if (const auto* b = std::get_if<bool>(&v.v)) return *b;
  impl_->wrong_type(key, v, "a bool");
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  std::vector<std::string> out;
  for (const GgufValue& e : impl_->as_array(key)) {
    const auto* s = std::get_if<std::string>(&e.v);
    if (!s) impl_->wrong_type(key, e, "an array of strings");
    out.push_back(*s);
  }
  return out;
}

std::vector<double> GgufFile::get_float_array(const std::string& key) const {
  std::vector<double> out;
  for (const GgufValue& e : impl_->as_array(key)) out.push_back(impl_->as_float(key, e));
  return out;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  std::vector<int64_t> out;
  for (const GgufValue& e : impl_->as_array(key)) out.push_back(impl_->as_int(key, e));
  return out;
}

const std::vector<GgufTensorInfo>& GgufFile::tensors() const { return impl_->tensors; }

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  const auto it = impl_->by_name.find(name);
  return it == impl_->by_name.end() ? nullptr : &impl_->tensors[it->second];
}

Tensor GgufFile::dequantize(const GgufTensorInfo& info) const {
  const GgufTensorInfo* own = find_tensor(info.name);
  MACA_ASSERT(own && own->offset == info.offset, "tensor '{}' is not from '{}'", info.name, path().string());
  Shape shape(info.ne.rbegin(), info.ne.rend());
  Tensor out = Tensor::empty(shape);
  const int64_t row = info.ne[0];
  const int64_t rows = row == 0 ? 0 : out.numel() / row;
  const uint64_t row_bytes = ggml_nbytes(info.type, row);
  const uint8_t* src = impl_->file->data() + impl_->data_start + info.offset;
  float* dst = out.data<float>();
#pragma omp parallel for schedule(static) if (rows * row > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) dequantize_row(info.type, src + r * row_bytes, dst + r * row, row);
  return out;
}

}  // namespace maca::io
