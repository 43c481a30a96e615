#include "pipeline/stream_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "core/error.h"
#include "core/file_io.h"
#include "core/half.h"

namespace maca::pipeline {

StreamForm parse_overflow(const std::string& name) {
  if (name == "spill") return StreamForm::Spill;
  if (name == "bf16") return StreamForm::Bf16;
  MACA_THROW(ConfigError, "calib.overflow: '{}' is not one of spill, bf16", name);
}

const char* stream_form_name(StreamForm f) {
  switch (f) {
    case StreamForm::F32: return "f32";
    case StreamForm::Bf16: return "bf16";
    case StreamForm::Spill: return "spill";
  }
  return "?";
}

class SpillFile {
 public:
  SpillFile(const std::filesystem::path& dir, int rank) : path_(dir / fmt::format("streams-rank{}.tmp", rank)) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) fail("cannot create");
    ::unlink(path_.c_str());  // scratch: gone when the process ends, however it ends
  }
  ~SpillFile() { ::close(fd_); }
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;

  // A region of `bytes` bytes for one stream.
  int64_t reserve(int64_t bytes) {
    const int64_t at = size_;
    size_ += bytes;
    return at;
  }

  void write(const void* data, size_t n, int64_t offset) {
    if (!pwrite_all(fd_, data, n, static_cast<uint64_t>(offset))) fail("cannot write to");
  }

  void read(void* data, size_t n, int64_t offset) const {
    if (!pread_all(fd_, data, n, static_cast<uint64_t>(offset))) fail("cannot read back");
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    MACA_THROW(FileError, "{} the calibration-stream spill file '{}' (calib.overflow=spill): {}; free space under "
               "run.dir, or raise calib.max_resident_gb, or use calib.overflow=bf16", what, path_.string(),
               errno ? std::strerror(errno) : "unexpected end of file");
  }

  std::filesystem::path path_;
  int fd_ = -1;
  int64_t size_ = 0;
};

std::shared_ptr<SpillFile> open_spill_file(const std::filesystem::path& dir, int rank) {
  return std::make_shared<SpillFile>(dir, rank);
}

StoredStream::StoredStream(backend::Context& ctx, Tensor x, StreamForm form, std::shared_ptr<SpillFile> spill)
    : form_(form), shape_(x.shape()), spill_(std::move(spill)) {
  MACA_ASSERT(x.dtype() == DType::F32, "StoredStream: {}", x.str());
  MACA_ASSERT(form != StreamForm::Spill || spill_, "StoredStream: spill form without a spill file");
  if (form_ == StreamForm::Spill) offset_ = spill_->reserve(static_cast<int64_t>(x.nbytes()));
  store(ctx, std::move(x));
}

int64_t StoredStream::resident_bytes() const { return held_.defined() ? static_cast<int64_t>(held_.nbytes()) : 0; }

void StoredStream::store(backend::Context& ctx, Tensor x) {
  MACA_ASSERT(x.shape() == shape_ && x.dtype() == DType::F32, "StoredStream::store: {} into a stream of {}", x.str(),
              shape_str(shape_));
  switch (form_) {
    case StreamForm::F32:
      held_ = std::move(x);
      return;
    case StreamForm::Bf16: {
      const Tensor h = ctx.to_host(x);
      held_ = Tensor::empty(shape_, DType::BF16);
      const float* src = h.data<float>();
      auto* dst = held_.data<uint16_t>();
      const int64_t n = h.numel();
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
      return;
    }
    case StreamForm::Spill: {
      const Tensor h = ctx.to_host(x);
      spill_->write(h.raw(), h.nbytes(), offset_);
      held_ = Tensor();
      return;
    }
  }
}

Tensor StoredStream::decode(backend::Context& ctx) const {
  Tensor h = Tensor::empty(shape_, DType::F32);
  if (form_ == StreamForm::Bf16) {
    const auto* src = held_.data<uint16_t>();
    float* dst = h.data<float>();
    const int64_t n = h.numel();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
  } else {
    spill_->read(h.raw(), h.nbytes(), offset_);
  }
  return ctx.to_device(h);
}

Tensor StoredStream::take(backend::Context& ctx) {
  if (form_ == StreamForm::F32) {
    MACA_ASSERT(held_.defined(), "StoredStream::take: the stream was already taken");
    Tensor x = std::move(held_);
    held_ = Tensor();
    return x;
  }
  Tensor x = decode(ctx);
  held_ = Tensor();  // bf16: the f32 copy replaces it until store()
  return x;
}

Tensor StoredStream::copy(backend::Context& ctx) const {
  return form_ == StreamForm::F32 ? ctx.clone(held_) : decode(ctx);
}

}  // namespace maca::pipeline
