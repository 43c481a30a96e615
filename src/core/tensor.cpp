#include "core/tensor.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/half.h"

namespace maca {

size_t dtype_size(DType dt) {
  switch (dt) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
      return 2;
    case DType::I8:
    case DType::U8:
      return 1;
  }
  MACA_ASSERT(false, "unknown dtype");
  return 0;
}

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::I32: return "i32";
    case DType::I8: return "i8";
    case DType::U8: return "u8";
    case DType::F64: return "f64";
    case DType::I64: return "i64";
  }
  return "?";
}

std::string Device::str() const { return is_cpu() ? "cpu" : fmt::format("cuda:{}", index); }

std::string shape_str(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Tensor Tensor::empty(Shape shape, DType dtype) {
  for (int64_t d : shape) MACA_ASSERT(d >= 0, "negative dimension in {}", shape_str(shape));
  Tensor t;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  const size_t bytes = std::max<size_t>(64, (t.nbytes() + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (!p) MACA_THROW(Error, "out of host memory allocating {} bytes for a tensor of shape {}", bytes,
                     shape_str(t.shape_));
  t.storage_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  t.data_ = p;
  return t;
}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  Tensor t = empty(std::move(shape), dtype);
  std::memset(t.data_, 0, t.nbytes());
  return t;
}

Tensor Tensor::borrow(void* data, Shape shape, DType dtype, std::shared_ptr<void> keep_alive) {
  Tensor t;
  t.storage_ = std::move(keep_alive);
  t.data_ = data;
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::on_device(std::shared_ptr<void> storage, void* data, Shape shape, DType dtype, Device device) {
  Tensor t = borrow(data, std::move(shape), dtype, std::move(storage));
  t.device_ = device;
  return t;
}

int64_t Tensor::dim(int i) const {
  const int n = ndim();
  if (i < 0) i += n;
  MACA_ASSERT(i >= 0 && i < n, "dim {} out of range for {}", i, str());
  return shape_[static_cast<size_t>(i)];
}

Tensor Tensor::reshape(Shape shape) const {
  MACA_ASSERT(shape_numel(shape) == numel(), "cannot reshape {} to {}", str(), shape_str(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  MACA_ASSERT(ndim() >= 1 && begin >= 0 && begin <= end && end <= shape_[0], "bad row slice [{}, {}) of {}",
              begin, end, str());
  Tensor t = *this;
  const size_t row_bytes = shape_[0] == 0 ? 0 : nbytes() / static_cast<size_t>(shape_[0]);
  t.data_ = static_cast<char*>(data_) + static_cast<size_t>(begin) * row_bytes;
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::clone() const {
  MACA_ASSERT(device_.is_cpu(), "clone() of a device tensor: copy it to the host first");
  Tensor t = empty(shape_, dtype_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::to_f32() const {
  MACA_ASSERT(device_.is_cpu(), "to_f32() needs a host tensor");
  if (dtype_ == DType::F32) return *this;
  Tensor t = empty(shape_, DType::F32);
  float* out = static_cast<float*>(t.data_);
  const int64_t n = numel();
  switch (dtype_) {
    case DType::F16: {
      const auto* in = static_cast<const uint16_t*>(data_);
      for (int64_t i = 0; i < n; ++i) out[i] = f16_to_f32(in[i]);
      break;
    }
    case DType::BF16: {
      const auto* in = static_cast<const uint16_t*>(data_);
      for (int64_t i = 0; i < n; ++i) out[i] = bf16_to_f32(in[i]);
      break;
    }
    case DType::I32: {
      const auto* in = static_cast<const int32_t*>(data_);
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]);
      break;
    }
    case DType::I8: {
      const auto* in = static_cast<const int8_t*>(data_);
      for (int64_t i = 0; i < n; ++i) out[i] = in[i];
      break;
    }
    case DType::U8: {
      const auto* in = static_cast<const uint8_t*>(data_);
      for (int64_t i = 0; i < n; ++i) out[i] = in[i];
      break;
    }
    case DType::F64: {
      const auto* in = static_cast<const double*>(data_);
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]);
      break;
    }
    case DType::I64: {
      const auto* in = static_cast<const int64_t*>(data_);
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]);
      break;
    }
    case DType::F32:
      break;
  }
  return t;
}

std::string Tensor::str() const { return fmt::format("{}{} {}", dtype_name(dtype_), shape_str(shape_), device_.str()); }

void Tensor::check_access(DType want, size_t elem_size) const {
  MACA_ASSERT(device_.is_cpu(), "host access to a {} tensor", device_.str());
  check_dtype(want, elem_size);
}

void Tensor::check_dtype(DType want, size_t elem_size) const {
  const bool ok = dtype_ == want || (elem_size == 2 && (dtype_ == DType::F16 || dtype_ == DType::BF16));
  MACA_ASSERT(ok, "tensor {} accessed as {}", str(), dtype_name(want));
}

}  // namespace maca
