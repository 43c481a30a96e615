// safetensors reader (memory-mapped, fully validated) and streaming atomic writer.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON (tensor name ->
// {dtype, shape, data_offsets} plus optional "__metadata__": {string: string}),
// then the data region; data_offsets are [begin, end) relative to its start.
// open() checks the whole header before any tensor is handed out, so a damaged
// file fails there with a FileError naming the file, the tensor and the fix.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace maca::io {

// One tensor's header entry. `dtype` is the safetensors spelling ("BF16",
// "I64"); file types without a maca DType (I64, BOOL, F64, ...) are validated
// and listed but cannot be viewed.
struct SafetensorsInfo {
  std::string dtype;
  Shape shape;
  uint64_t begin = 0;  // byte offsets into the data region
  uint64_t end = 0;

  // The maca dtype, or nullopt for a file type maca does not load.
  std::optional<DType> maca_dtype() const;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`; throws FileError naming the file (and tensor)
  // when it cannot be read or is damaged.
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_->path(); }
  // Tensor names in data order.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return infos_.count(name) != 0; }
  // Throws FileError naming the file and tensor when absent.
  const SafetensorsInfo& info(const std::string& name) const;
  // The "__metadata__" map (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor in its stored dtype, borrowing the read-only mapping (do not
  // write through it). Data that is not aligned to its element size is copied
  // into an aligned buffer instead. Throws FileError for a missing tensor or a
  // dtype maca does not support.
  Tensor view(const std::string& name) const;
  // Drops the tensor's mapped pages from the resident set (MappedFile::release)
  // once a copy of it was made; views of it stay valid (they fault back in).
  void release(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  void parse_header();

  std::shared_ptr<MappedFile> file_;
  uint64_t data_start_ = 0;  // file offset of the data region
  std::vector<std::string> names_;
  std::map<std::string, SafetensorsInfo> infos_;
  std::map<std::string, std::string> metadata_;
};

// One tensor of a file to be written: its name, dtype and shape, known before
// its data (so the header can be written first).
struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;

  uint64_t nbytes() const;
};

// Streaming writer: the header for `entries` (data in that order) is written
// at construction, then each tensor's data as it becomes available, so memory
// holds one tensor at a time. The header always carries "__metadata__" with
// "format": "pt" (older transformers refuse files without it) plus
// `metadata`. Data goes to `path`.tmp; commit() syncs it and renames it onto
// `path`, so readers never see a partial file, and a writer destroyed before
// commit() removes the temporary. Throws FileError naming the path and the OS
// error (e.g. disk full) on I/O failure.
class SafetensorsWriter {
 public:
  SafetensorsWriter(std::filesystem::path path, std::vector<SafetensorsEntry> entries,
                    const std::map<std::string, std::string>& metadata = {});
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // Writes the data of entry `name` at its place; tensors may come in any
  // order, each exactly once, with the entry's dtype and shape (host tensor).
  void write(const std::string& name, const Tensor& tensor);
  // Every entry written: syncs and renames the file onto `path`.
  void commit();

 private:
  class TmpFile;
  std::filesystem::path path_;
  std::unique_ptr<TmpFile> file_;
  std::map<std::string, size_t> index_;  // entry name -> position in entries_
  std::vector<SafetensorsEntry> entries_;
  std::vector<uint64_t> offsets_;  // file offset of each entry's data
  std::vector<bool> written_;
};

// Writes `tensors` (host tensors, in the given order) to `path` in one go
// through SafetensorsWriter (same header, atomic rename, errors).
void write_safetensors(const std::filesystem::path& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace maca::io
