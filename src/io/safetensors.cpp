#include "io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"

namespace maca::io {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

// Headers above this are rejected before parsing (same bound as the reference
// implementation); real headers are a few MB at most.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeSpec {
  std::string_view name;
  size_t size;
  std::optional<DType> maca;
};

// Every dtype the safetensors format defines; only some map to a maca DType.
constexpr std::array<DTypeSpec, 15> kDTypes{{
    {"F32", 4, DType::F32},   {"F16", 2, DType::F16},   {"BF16", 2, DType::BF16}, {"I32", 4, DType::I32},
    {"I8", 1, DType::I8},     {"U8", 1, DType::U8},     {"F64", 8, std::nullopt}, {"I64", 8, std::nullopt},
    {"I16", 2, std::nullopt}, {"U16", 2, std::nullopt}, {"U32", 4, std::nullopt}, {"U64", 8, std::nullopt},
    {"BOOL", 1, std::nullopt}, {"F8_E4M3", 1, std::nullopt}, {"F8_E5M2", 1, std::nullopt},
}};

const DTypeSpec* find_dtype(std::string_view name) {
  for (const DTypeSpec& d : kDTypes)
    if (d.name == name) return &d;
  return nullptr;
}

std::string_view safetensors_name(DType dt) {
  for (const DTypeSpec& d : kDTypes)
    if (d.maca == dt) return d.name;
  MACA_ASSERT(false, "dtype {} has no safetensors name", dtype_name(dt));
  return {};
}

[[noreturn]] void damaged(const std::filesystem::path& path, const std::string& what) {
  MACA_THROW(FileError, "safetensors file '{}': {}; the file is damaged or not safetensors, re-download or re-export it",
             path.string(), what);
}

// A non-negative JSON integer, or nullopt (negative, fractional or not a number).
std::optional<uint64_t> as_unsigned(const nlohmann::json& j) {
  if (!j.is_number_unsigned()) return std::nullopt;
  return j.get<uint64_t>();
}

}  // namespace

std::optional<DType> SafetensorsInfo::maca_dtype() const {
  const DTypeSpec* d = find_dtype(dtype);
  return d ? d->maca : std::nullopt;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->file_ = MappedFile::open(path);
  f->parse_header();
  return f;
}

void SafetensorsFile::parse_header() {
  const std::filesystem::path& p = path();
  const uint64_t size = file_->size();
  if (size < 8) damaged(p, fmt::format("file is {} bytes, shorter than the 8-byte header length (truncated?)", size));
  uint64_t header_len = 0;
  std::memcpy(&header_len, file_->data(), 8);
  if (header_len > size - 8)
    damaged(p, fmt::format("header length {} runs past the end of the file ({} bytes; truncated?)", header_len, size));
  if (header_len > kMaxHeaderBytes)
    damaged(p, fmt::format("header length {} exceeds the {} byte limit", header_len, kMaxHeaderBytes));
  data_start_ = 8 + header_len;
  const uint64_t data_size = size - data_start_;

  const auto* text = reinterpret_cast<const char*>(file_->data() + 8);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, text + header_len);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for numbers like 1e400
    damaged(p, fmt::format("header is not valid JSON ({})", e.what()));
  }
  if (!header.is_object()) damaged(p, "header is not a JSON object");

  std::vector<std::pair<std::string, SafetensorsInfo>> entries;
  for (const auto& item : header.items()) {
    const std::string& name = item.key();  // not a structured binding: the lambda below captures it
    const nlohmann::json& entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) damaged(p, "\"__metadata__\" is not a JSON object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) damaged(p, fmt::format("\"__metadata__\" value of '{}' is not a string", key));
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const auto bad = [&](const std::string& what) { damaged(p, fmt::format("tensor '{}': {}", name, what)); };
    if (!entry.is_object()) bad("entry is not a JSON object");
    const auto dtype_it = entry.find("dtype");
    const auto shape_it = entry.find("shape");
    const auto offsets_it = entry.find("data_offsets");
    if (dtype_it == entry.end() || !dtype_it->is_string()) bad("missing or non-string \"dtype\"");
    if (shape_it == entry.end() || !shape_it->is_array()) bad("missing or non-array \"shape\"");
    if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2)
      bad("\"data_offsets\" is not a [begin, end] pair");

    SafetensorsInfo info;
    info.dtype = dtype_it->get<std::string>();
    const DTypeSpec* spec = find_dtype(info.dtype);
    if (!spec)
      bad(fmt::format("unknown dtype '{}' (safetensors defines F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, "
                      "U8, BOOL, F8_E4M3, F8_E5M2)",
                      info.dtype));
    uint64_t nbytes = spec->size;
    for (const nlohmann::json& d : *shape_it) {
      const std::optional<uint64_t> v = as_unsigned(d);
      if (!v || *v > static_cast<uint64_t>(INT64_MAX)) bad("shape has an entry that is not a non-negative integer");
      if (__builtin_mul_overflow(nbytes, *v, &nbytes)) bad("shape is too large (byte size overflows)");
      info.shape.push_back(static_cast<int64_t>(*v));
    }
    const std::optional<uint64_t> begin = as_unsigned((*offsets_it)[0]);
    const std::optional<uint64_t> end = as_unsigned((*offsets_it)[1]);
    if (!begin || !end || *begin > *end) bad("\"data_offsets\" must be non-negative integers with begin <= end");
    info.begin = *begin;
    info.end = *end;
    if (info.end > data_size)
      bad(fmt::format("data_offsets [{}, {}] run past the end of the data region ({} bytes; truncated?)", info.begin,
                      info.end, data_size));
    if (info.end - info.begin != nbytes)
      bad(fmt::format("data_offsets span {} bytes but shape {} of {} needs {}", info.end - info.begin,
                      shape_str(info.shape), info.dtype, nbytes));
    entries.emplace_back(name, std::move(info));
  }

  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second.begin, a.second.end) < std::pair(b.second.begin, b.second.end);
  });
  for (size_t i = 1; i < entries.size(); ++i) {
    const auto& [prev_name, prev] = entries[i - 1];
    const auto& [name, info] = entries[i];
    if (info.begin < prev.end)
      damaged(p, fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", prev_name, prev.begin, prev.end, name,
                             info.begin, info.end));
  }
  for (auto& [name, info] : entries) {
    names_.push_back(name);
    infos_.emplace(name, std::move(info));
  }
}

const SafetensorsInfo& SafetensorsFile::info(const std::string& name) const {
  const auto it = infos_.find(name);
  if (it == infos_.end())
    MACA_THROW(FileError, "safetensors file '{}' has no tensor '{}'; check the tensor name or re-export the file",
               path().string(), name);
  return it->second;
}

void SafetensorsFile::release(const std::string& name) const {
  const SafetensorsInfo& i = info(name);
  file_->release(file_->data() + data_start_ + i.begin, static_cast<size_t>(i.end - i.begin));
}

Tensor SafetensorsFile::view(const std::string& name) const {
  const SafetensorsInfo& i = info(name);
  const std::optional<DType> dt = i.maca_dtype();
  if (!dt)
    MACA_THROW(FileError,
               "safetensors file '{}': tensor '{}' has dtype {}, which maca cannot load (supported: F32, F16, BF16, "
               "I32, I8, U8); convert the model to one of these",
               path().string(), name, i.dtype);
  const uint8_t* data = file_->data() + data_start_ + i.begin;
  if (reinterpret_cast<uintptr_t>(data) % dtype_size(*dt) == 0)
    return Tensor::borrow(const_cast<uint8_t*>(data), i.shape, *dt, file_);
  Tensor t = Tensor::empty(i.shape, *dt);
  std::memcpy(t.raw(), data, t.nbytes());
  return t;
}

// Owns a file descriptor and the temporary file until commit().
class SafetensorsWriter::TmpFile {
 public:
  explicit TmpFile(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot create");
  }
  ~TmpFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TmpFile(const TmpFile&) = delete;
  TmpFile& operator=(const TmpFile&) = delete;

  void write(const void* data, size_t n, uint64_t offset) {
    if (!pwrite_all(fd_, data, n, offset)) fail("cannot write");
  }

  // Syncs, closes and renames onto `target`.
  void commit(const std::filesystem::path& target) {
    if (::fsync(fd_) != 0) fail("cannot sync");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot close");
    if (::rename(path_.c_str(), target.c_str()) != 0) fail(fmt::format("cannot rename to '{}'", target.string()));
    committed_ = true;
    // Make the rename itself durable; failure here leaves a complete file, so it is not an error.
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    MACA_THROW(FileError, "writing safetensors: {} '{}': {}; check free disk space and permissions", what,
               path_.string(), std::strerror(errno));
  }

  std::filesystem::path path_;
  int fd_ = -1;
  bool committed_ = false;
};

uint64_t SafetensorsEntry::nbytes() const {
  uint64_t n = dtype_size(dtype);
  for (const int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

SafetensorsWriter::SafetensorsWriter(std::filesystem::path path, std::vector<SafetensorsEntry> entries,
                                     const std::map<std::string, std::string>& metadata)
    : path_(std::move(path)), entries_(std::move(entries)), written_(entries_.size(), false) {
  nlohmann::ordered_json header;
  nlohmann::ordered_json& meta = header["__metadata__"];
  for (const auto& [key, value] : metadata) meta[key] = value;
  meta["format"] = "pt";
  uint64_t offset = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const SafetensorsEntry& e = entries_[i];
    MACA_ASSERT(e.name != "__metadata__" && index_.emplace(e.name, i).second, "bad or duplicate tensor name '{}'",
                e.name);
    header[e.name] = {{"dtype", safetensors_name(e.dtype)},
                      {"shape", e.shape},
                      {"data_offsets", {offset, offset + e.nbytes()}}};
    offsets_.push_back(offset);
    offset += e.nbytes();
  }
  std::string text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.resize((text.size() + 7) / 8 * 8, ' ');  // keeps the data region 8-byte aligned
  const uint64_t header_len = text.size();
  for (uint64_t& o : offsets_) o += 8 + header_len;

  std::filesystem::path tmp = path_;
  tmp += ".tmp";
  file_ = std::make_unique<TmpFile>(tmp);
  file_->write(&header_len, 8, 0);
  file_->write(text.data(), text.size(), 8);
}

SafetensorsWriter::~SafetensorsWriter() = default;

void SafetensorsWriter::write(const std::string& name, const Tensor& tensor) {
  const auto it = index_.find(name);
  MACA_ASSERT(it != index_.end(), "SafetensorsWriter '{}': no entry '{}'", path_.string(), name);
  const size_t i = it->second;
  const SafetensorsEntry& e = entries_[i];
  MACA_ASSERT(!written_[i], "SafetensorsWriter '{}': tensor '{}' written twice", path_.string(), name);
  MACA_ASSERT(tensor.device().is_cpu(), "SafetensorsWriter: tensor '{}' is not on the host", name);
  MACA_ASSERT(tensor.dtype() == e.dtype && tensor.shape() == e.shape,
              "SafetensorsWriter '{}': tensor '{}' is {} {} but its entry says {} {}", path_.string(), name,
              dtype_name(tensor.dtype()), shape_str(tensor.shape()), dtype_name(e.dtype), shape_str(e.shape));
  if (tensor.nbytes()) file_->write(tensor.raw(), tensor.nbytes(), offsets_[i]);
  written_[i] = true;
}

void SafetensorsWriter::commit() {
  for (size_t i = 0; i < entries_.size(); ++i)
    MACA_ASSERT(written_[i], "SafetensorsWriter '{}': tensor '{}' was never written", path_.string(),
                entries_[i].name);
  file_->commit(path_);
}

void write_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, t] : tensors) entries.push_back({name, t.dtype(), t.shape()});
  SafetensorsWriter writer(path, std::move(entries), metadata);
  for (const auto& [name, t] : tensors) writer.write(name, t);
  writer.commit();
}

}  // namespace maca::io
