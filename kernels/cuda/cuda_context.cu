#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"

namespace maca::kernels::cuda {
namespace {

class CudaContext final : public backend::Context {
 public:
  explicit CudaContext(Device d) : Context(d) {
    MACA_CUDA_CHECK(cudaSetDevice(d.index));
    MACA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    MACA_CUBLAS_CHECK(cublasCreate(&blas_));
    MACA_CUBLAS_CHECK(cublasSetStream(blas_, stream_));
  }
  ~CudaContext() override {
    cublasDestroy(blas_);
    cudaStreamDestroy(stream_);
  }
  void* stream() const override { return stream_; }
  void* blas_handle() const override { return blas_; }
  void synchronize() override { MACA_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

  Tensor empty(Shape shape, DType dtype) override {
    const size_t bytes = static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype);
    void* p = nullptr;
    MACA_CUDA_CHECK(cudaMallocAsync(&p, bytes ? bytes : 1, stream_));
    cudaStream_t s = stream_;
    std::shared_ptr<void> storage(p, [s](void* q) { cudaFreeAsync(q, s); });
    return Tensor::on_device(std::move(storage), p, std::move(shape), dtype, device());
  }
  Tensor to_device(const Tensor& host) override {
    MACA_ASSERT(host.device().is_cpu(), "to_device of a device tensor");
    Tensor t = empty(host.shape(), host.dtype());
    MACA_CUDA_CHECK(cudaMemcpyAsync(t.raw(), host.raw(), host.nbytes(), cudaMemcpyHostToDevice, stream_));
    synchronize();
    return t;
  }
  Tensor to_host(const Tensor& t) override {
    if (t.device().is_cpu()) return t;
    Tensor h = Tensor::empty(t.shape(), t.dtype());
    MACA_CUDA_CHECK(cudaMemcpyAsync(h.raw(), t.raw(), t.nbytes(), cudaMemcpyDeviceToHost, stream_));
    synchronize();
    return h;
  }

 private:
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
};

}  // namespace

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
