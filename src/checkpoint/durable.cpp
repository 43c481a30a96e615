#include "checkpoint/durable.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace maca::checkpoint {

namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  MACA_THROW(Error, "cannot {} '{}': {}", what, path.string(), std::strerror(errno));
}

void sync_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    errno = err;
    fail("sync", path);
  }
  ::close(fd);
}

}  // namespace

std::filesystem::path temporary_path(const std::filesystem::path& target) {
  std::filesystem::path tmp = target;
  tmp += ".tmp";
  return tmp;
}

void publish(const std::filesystem::path& tmp, const std::filesystem::path& target) {
  sync_file(tmp);
  if (::rename(tmp.c_str(), target.c_str()) != 0) fail(fmt::format("rename '{}' to", tmp.string()), target);
  // Best effort: some file systems cannot sync a directory, and the complete
  // file is already in place.
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

void write_text_durably(const std::filesystem::path& target, const std::string& text) {
  const std::filesystem::path tmp = temporary_path(target);
  try {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) fail("create", tmp);
    const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    const int write_errno = errno;
    const bool closed = std::fclose(f) == 0;  // reports a deferred write error (ENOSPC) too
    if (!written) errno = write_errno;
    if (!written || !closed) fail("write", tmp);
    publish(tmp, target);
  } catch (const Error& e) {
    ::unlink(tmp.c_str());
    MACA_THROW(FileError, "{}; check free space and permissions of '{}'", e.what(), target.parent_path().string());
  }
}

}  // namespace maca::checkpoint
