// Host metadata (sequence lengths, token ids, frequencies) copied into
// stream-ordered device memory for one op call. The copy is queued on the
// context's stream; a pageable host source may be released as soon as the
// constructor returns (cudaMemcpyAsync stages it before returning).
#pragma once

#include <memory>
#include <span>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"

namespace maca::kernels::cuda {

template <class T>
class DeviceArray {
 public:
  DeviceArray(CudaContext& ctx, std::span<const T> host) : size_(host.size()) {
    storage_ = ctx.scratch(host.size_bytes());
    if (!host.empty())
      MACA_CUDA_CHECK(
          cudaMemcpyAsync(storage_.get(), host.data(), host.size_bytes(), cudaMemcpyHostToDevice, ctx.cuda_stream()));
  }
  // Uninitialized device array of n elements.
  DeviceArray(CudaContext& ctx, size_t n) : size_(n) { storage_ = ctx.scratch(n * sizeof(T)); }

  T* get() const { return static_cast<T*>(storage_.get()); }
  size_t size() const { return size_; }

 private:
  std::shared_ptr<void> storage_;
  size_t size_;
};

}  // namespace maca::kernels::cuda
