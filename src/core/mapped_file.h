// Read-only memory-mapped file. Model readers hand out tensors that borrow
// from the mapping, so nothing is read until a tensor is touched and the OS
// can drop pages again under memory pressure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

namespace maca {

class MappedFile {
 public:
  // Throws maca::FileError naming the path when it cannot be opened or mapped.
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Drops the pages of [p, p + n) from this process's resident set (the
  // page cache keeps them; a later read faults them in again). Readers call
  // it after copying a tensor out, so the RSS of a job that streams a model
  // block by block does not grow with every block read. Safe for any range:
  // the mapping is read-only, so nothing can be lost.
  void release(const uint8_t* p, size_t n) const;

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace maca
