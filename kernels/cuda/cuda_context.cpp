#include "kernels/cuda/cuda_context.h"

#include "core/error.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace maca::kernels::cuda {

CudaContext::CudaContext(Device d) : Context(d) {
  MACA_CUDA_CHECK(cudaSetDevice(d.index));
  MACA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  MACA_CUBLAS_CHECK(cublasCreate(&blas_));
  MACA_CUBLAS_CHECK(cublasSetStream(blas_, stream_));
  // Reproducible cuBLAS results: no atomics in its reductions.
  MACA_CUBLAS_CHECK(cublasSetAtomicsMode(blas_, CUBLAS_ATOMICS_NOT_ALLOWED));
  MACA_CUSOLVER_CHECK(cusolverDnCreate(&solver_));
  MACA_CUSOLVER_CHECK(cusolverDnSetStream(solver_, stream_));
}

CudaContext::~CudaContext() {
  cudaStreamSynchronize(stream_);
  cusolverDnDestroy(solver_);
  cublasDestroy(blas_);
  cudaStreamDestroy(stream_);
}

void CudaContext::synchronize() { MACA_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

const backend::OpTable& CudaContext::ops() const { return op_table(); }

std::shared_ptr<void> CudaContext::scratch(size_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaMallocAsync(&p, bytes ? bytes : 1, stream_);
  if (e == cudaErrorMemoryAllocation)
    MACA_THROW(Error, "out of GPU memory on {} allocating {} bytes; use fewer calibration rows per batch "
                      "(calib.batch_tokens) or more GPUs", device().str(), bytes);
  MACA_CUDA_CHECK(e);
  cudaStream_t s = stream_;
  return std::shared_ptr<void>(p, [s](void* q) { cudaFreeAsync(q, s); });
}

Tensor CudaContext::empty(Shape shape, DType dtype) {
  const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
  std::shared_ptr<void> storage = scratch(bytes);
  void* p = storage.get();
  return Tensor::on_device(std::move(storage), p, std::move(shape), dtype, device());
}

Tensor CudaContext::to_device(const Tensor& host) {
  MACA_ASSERT(host.device().is_cpu(), "to_device of a device tensor {}", host.str());
  Tensor t = empty(host.shape(), host.dtype());
  MACA_CUDA_CHECK(cudaMemcpyAsync(t.raw(), host.raw(), host.nbytes(), cudaMemcpyHostToDevice, stream_));
  synchronize();  // the host tensor may be a mapped file view the caller drops next
  return t;
}

Tensor CudaContext::to_host(const Tensor& t) {
  if (t.device().is_cpu()) return t;
  Tensor h = Tensor::empty(t.shape(), t.dtype());
  MACA_CUDA_CHECK(cudaMemcpyAsync(h.raw(), t.raw(), t.nbytes(), cudaMemcpyDeviceToHost, stream_));
  synchronize();
  return h;
}

void CudaContext::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  const auto* s = static_cast<const char*>(src);
  auto* d = static_cast<char*>(dst);
  if (d + bytes <= s || s + bytes <= d) {
    MACA_CUDA_CHECK(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToDevice, stream_));
    return;
  }
  // Overlapping ranges (a sliding-window cache shifting down): through scratch,
  // since cudaMemcpy does not promise memmove semantics.
  const std::shared_ptr<void> tmp = scratch(bytes);
  MACA_CUDA_CHECK(cudaMemcpyAsync(tmp.get(), s, bytes, cudaMemcpyDeviceToDevice, stream_));
  MACA_CUDA_CHECK(cudaMemcpyAsync(d, tmp.get(), bytes, cudaMemcpyDeviceToDevice, stream_));
}

void CudaContext::zero(void* p, size_t bytes) {
  if (bytes) MACA_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_));
}

CudaContext& cuda_context(backend::Context& ctx) {
  MACA_ASSERT(!ctx.device().is_cpu(), "a CUDA op got a {} context", ctx.device().str());
  return static_cast<CudaContext&>(ctx);
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

std::unique_ptr<backend::Context> create_context(Device device) {
  const int n = device_count();
  if (device.index < 0 || device.index >= n)
    MACA_THROW(Error, "device {} requested, but {} CUDA device(s) are visible; check CUDA_VISIBLE_DEVICES or use "
                      "--device cpu", device.str(), n);
  return std::make_unique<CudaContext>(device);
}

}  // namespace maca::kernels::cuda
