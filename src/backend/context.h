// Execution context of a backend: the explicit device plus the stream and
// library handles (cuBLAS/cuSOLVER on CUDA, a thread count on CPU) every op
// runs with. Contexts are created once per device and passed to each op;
// nothing in maca keeps a hidden global stream or handle.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"

namespace maca::backend {

struct OpTable;

class Context {
 public:
  // Creates a context on `device`. Asking for CUDA in a build without the CUDA
  // backend, or on a machine without a visible GPU, throws maca::Error saying so.
  // threads <= 0 keeps the BLAS/OpenMP default.
  static std::unique_ptr<Context> create(Device device, int threads = 0);
  virtual ~Context() = default;

  Device device() const { return device_; }
  // Backend-specific handles (cudaStream_t, cublasHandle_t); null on the CPU.
  virtual void* stream() const { return nullptr; }
  virtual void* blas_handle() const { return nullptr; }
  // Waits until all work queued on this context is done.
  virtual void synchronize() {}
  // The ops this context's backend implements (backend/op_table.h).
  virtual const OpTable& ops() const = 0;

  // Uninitialized tensor on this context's device.
  virtual Tensor empty(Shape shape, DType dtype = DType::F32) = 0;
  // Copies between host and this context's device (identity on the CPU).
  virtual Tensor to_device(const Tensor& host) = 0;
  virtual Tensor to_host(const Tensor& t) = 0;
  // Copies `bytes` bytes between two buffers on this context's device, with
  // memmove semantics (the ranges may overlap), ordered with the ops.
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // Sets `bytes` bytes at p (on this context's device) to zero.
  virtual void zero(void* p, size_t bytes) = 0;
  // A deep copy of t (on this context's device) with its own storage.
  Tensor clone(const Tensor& t);

 protected:
  explicit Context(Device d) : device_(d) {}

 private:
  Device device_;
};

// The op table of a backend kind (nullptr when this build lacks it), without
// creating a context: what a backend implements is fixed at build time.
const OpTable* backend_ops(DeviceKind kind);

// Number of CUDA devices visible to this process; 0 in a CPU-only build or on
// a machine without a GPU (never an error).
int cuda_device_count();
// True when this binary was built with the CUDA backend.
bool built_with_cuda();
// Parses "cpu", "cuda", "cuda:N" or "auto" (CUDA when a device is visible).
Device parse_device(const std::string& s);
// The device job `job` computes on for the run.device setting `s`: as
// parse_device, except that "auto" picks a GPU only when one is visible, this
// build's CUDA backend implements every op (backend/op_table.h) and the CUDA
// path has passed its GPU check (context.cpp says why it has not yet; until
// then "auto" logs that it stays on the CPU).
Device job_device(const std::string& s, const char* job);

}  // namespace maca::backend
