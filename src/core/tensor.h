// Tensor: a dense, row-major n-d array with a dtype and a device.
//
// Storage is reference-counted and may be owned (aligned host allocation, or a
// device allocation made by a backend) or borrowed (a view into a memory-mapped
// file that the keep-alive pointer holds open). Copies of a Tensor share
// storage; clone() makes a deep copy. Element access through data<T>() checks
// the dtype and that the tensor lives on the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace maca {

enum class DType : uint8_t { F32, F16, BF16, I32, I8, U8, F64, I64 };

size_t dtype_size(DType dt);
const char* dtype_name(DType dt);

enum class DeviceKind : uint8_t { Cpu, Cuda };

// Where a tensor lives. The device is a runtime choice (cpu|cuda).
struct Device {
  DeviceKind kind = DeviceKind::Cpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int i = 0) { return {DeviceKind::Cuda, i}; }
  bool is_cpu() const { return kind == DeviceKind::Cpu; }
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  std::string str() const;
};

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::F32; }
template <>
constexpr DType dtype_of<double>() { return DType::F64; }
template <>
constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <>
constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <>
constexpr DType dtype_of<int8_t>() { return DType::I8; }
template <>
constexpr DType dtype_of<uint8_t>() { return DType::U8; }
template <>
constexpr DType dtype_of<uint16_t>() { return DType::F16; }  // raw 16-bit storage (f16 or bf16)

class Tensor {
 public:
  Tensor() = default;

  // Uninitialized host tensor (64-byte aligned).
  static Tensor empty(Shape shape, DType dtype = DType::F32);
  // Zero-filled host tensor.
  static Tensor zeros(Shape shape, DType dtype = DType::F32);
  // Host tensor that borrows `data`; `keep_alive` owns the memory behind it.
  static Tensor borrow(void* data, Shape shape, DType dtype, std::shared_ptr<void> keep_alive);
  // Tensor over storage a backend allocated on `device`.
  static Tensor on_device(std::shared_ptr<void> storage, void* data, Shape shape, DType dtype, Device device);

  bool defined() const { return data_ != nullptr; }
  // True when no other Tensor (view, reshape, copy) shares this one's storage.
  bool sole_owner() const { return storage_.use_count() == 1; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }

  void* raw() { return data_; }
  const void* raw() const { return data_; }

  template <class T>
  T* data() {
    check_access(dtype_of<T>(), sizeof(T));
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* data() const {
    check_access(dtype_of<T>(), sizeof(T));
    return static_cast<const T*>(data_);
  }

  // The elements on whatever device the tensor lives (a device pointer for
  // the backend ops); checks the dtype only.
  template <class T>
  T* device_data() {
    check_dtype(dtype_of<T>(), sizeof(T));
    return static_cast<T*>(data_);
  }
  template <class T>
  const T* device_data() const {
    check_dtype(dtype_of<T>(), sizeof(T));
    return static_cast<const T*>(data_);
  }

  // Same storage, new shape with the same element count.
  Tensor reshape(Shape shape) const;
  // Rows [begin, end) of the first dimension, sharing storage.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  // Deep copy on the host.
  Tensor clone() const;
  // Host fp32 copy (converting f16/bf16/int types); returns *this when already f32.
  Tensor to_f32() const;

  std::string str() const;  // "f32[2, 3] cpu"

 private:
  void check_access(DType want, size_t elem_size) const;
  void check_dtype(DType want, size_t elem_size) const;

  std::shared_ptr<void> storage_;
  void* data_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::F32;
  Device device_;
};

}  // namespace maca
