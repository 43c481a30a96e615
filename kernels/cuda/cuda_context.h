// CUDA backend context: one non-blocking stream, one cuBLAS and one cuSOLVER
// handle per device, created explicitly and owned by the Context. Device
// memory is stream-ordered (cudaMallocAsync on the context's stream), so a
// tensor freed while kernels that read it are queued is safe.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <memory>

#include "backend/context.h"

namespace maca::kernels::cuda {

class CudaContext final : public backend::Context {
 public:
  explicit CudaContext(Device d);
  ~CudaContext() override;
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  void* stream() const override { return stream_; }
  void* blas_handle() const override { return blas_; }
  void synchronize() override;
  const backend::OpTable& ops() const override;
  Tensor empty(Shape shape, DType dtype) override;
  Tensor to_device(const Tensor& host) override;
  Tensor to_host(const Tensor& t) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void zero(void* p, size_t bytes) override;

  cudaStream_t cuda_stream() const { return stream_; }
  cublasHandle_t cublas() const { return blas_; }
  cusolverDnHandle_t cusolver() const { return solver_; }
  // Stream-ordered scratch of `bytes` bytes, freed on the stream when the
  // returned owner goes.
  std::shared_ptr<void> scratch(size_t bytes);

 private:
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cusolverDnHandle_t solver_ = nullptr;
};

// The CUDA context behind `ctx` (an internal invariant of the CUDA ops: the
// dispatch only sends them contexts of their own backend).
CudaContext& cuda_context(backend::Context& ctx);

// Visible CUDA devices; 0 when no driver or GPU is present (never throws).
int device_count();
// Throws maca::Error when the device does not exist.
std::unique_ptr<backend::Context> create_context(Device device);

}  // namespace maca::kernels::cuda
