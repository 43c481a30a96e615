// embedding: out[i, :] = table[ids[i], :] · scale, one block per id, its
// threads striding over the row's columns (consecutive threads, consecutive
// columns). The ids are checked against the vocabulary on the host (a user
// error, as on the CPU) and then copied to the device.
#include <climits>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_array.h"
#include "kernels/cuda/id_checks.h"

namespace maca::kernels::cuda {
namespace {

__global__ void embedding_kernel(const float* table, const int32_t* ids, float scale, float* out, int64_t d) {
  const int64_t i = blockIdx.x;
  const float* src = table + static_cast<int64_t>(ids[i]) * d;
  float* dst = out + i * d;
  for (int64_t j = threadIdx.x; j < d; j += blockDim.x) dst[j] = src[j] * scale;
}

}  // namespace

void embedding(backend::Context& ctx, const Tensor& table, std::span<const int32_t> ids, float scale, Tensor& out) {
  CudaContext& cc = cuda_context(ctx);
  MACA_CUDA_REQUIRE(table.dtype() == DType::F32 && out.dtype() == DType::F32, "embedding: table and out must be f32");
  MACA_CUDA_REQUIRE(table.ndim() == 2 && out.ndim() == 2, "embedding: table and out must be 2-D");
  const int64_t vocab = table.dim(0), d = table.dim(1), n = static_cast<int64_t>(ids.size());
  MACA_CUDA_REQUIRE(out.dim(0) == n && out.dim(1) == d, "embedding: out must be [ids, table columns]");
  MACA_CUDA_REQUIRE(n <= INT_MAX, "embedding: more ids than a grid holds");
  check_ids_in_vocab(ids, vocab, "token id", "position");
  if (n == 0 || d == 0) return;
  const DeviceArray<int32_t> d_ids(cc, ids);
  const int threads = d >= 1024 ? 256 : 128;
  embedding_kernel<<<static_cast<unsigned>(n), threads, 0, cc.cuda_stream()>>>(
      static_cast<const float*>(table.raw()), d_ids.get(), scale, static_cast<float*>(out.raw()), d);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
