// rope: one block per token, in place. The host lays out each token's position
// (start[s] + its index in sequence s); the block's first head_dim/2 threads
// compute the token's cos/sin row into shared memory once (fp32 angle, cos and
// sin in double, as the CPU: shared::rope_angle, rope_cos_sin), then the block
// rotates the token's heads·head_dim/2 pairs (shared::rope_rotate), thread k
// taking pairs k, k + blockDim.x, … (consecutive threads, consecutive columns).
#include <climits>
#include <vector>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_array.h"
#include "kernels/shared/elementwise_math.h"

namespace maca::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rope_kernel(float* x, const int64_t* pos, const float* inv_freq, int heads, int half, int64_t d) {
  extern __shared__ float cos_sin[];  // [2·half]: this token's cos, then its sin
  const int64_t t = blockIdx.x, p = pos[t];
  for (int i = threadIdx.x; i < half; i += blockDim.x)
    shared::rope_cos_sin(shared::rope_angle(p, inv_freq[i]), cos_sin[i], cos_sin[half + i]);
  __syncthreads();
  float* xt = x + t * heads * d;
  for (int k = threadIdx.x; k < heads * half; k += blockDim.x) {
    const int h = k / half, i = k - h * half;
    float* v = xt + h * d;
    const shared::FloatPair r = shared::rope_rotate(v[i], v[i + half], cos_sin[i], cos_sin[half + i]);
    v[i] = r.first;
    v[i + half] = r.second;
  }
}

}  // namespace

void rope(backend::Context& ctx, Tensor& x, std::span<const int64_t> seq_lens, std::span<const float> inv_freq,
          std::span<const int64_t> start) {
  CudaContext& cc = cuda_context(ctx);
  MACA_CUDA_REQUIRE(x.dtype() == DType::F32 && x.ndim() == 3, "rope: x must be f32 [tokens, heads, head_dim]");
  const int64_t tokens = x.dim(0), heads = x.dim(1), d = x.dim(2), half = d / 2;
  MACA_CUDA_REQUIRE(static_cast<int64_t>(inv_freq.size()) == half, "rope: inv_freq must have head_dim/2 entries");
  MACA_CUDA_REQUIRE(start.empty() || start.size() == seq_lens.size(), "rope: one start position per sequence");
  std::vector<int64_t> pos;  // position of each token
  pos.reserve(static_cast<size_t>(tokens));
  for (size_t s = 0; s < seq_lens.size(); ++s) {
    const int64_t first = start.empty() ? 0 : start[s];
    MACA_CUDA_REQUIRE(first >= 0 && seq_lens[s] >= 0, "rope: negative start position or sequence length");
    MACA_CUDA_REQUIRE(static_cast<int64_t>(pos.size()) + seq_lens[s] <= tokens, "rope: seq_lens sum > tokens");
    for (int64_t p = 0; p < seq_lens[s]; ++p) pos.push_back(first + p);
  }
  MACA_CUDA_REQUIRE(static_cast<int64_t>(pos.size()) == tokens, "rope: seq_lens sum != tokens");
  MACA_CUDA_REQUIRE(tokens <= INT_MAX && heads * half <= INT_MAX, "rope: x too large for one launch");
  MACA_CUDA_REQUIRE(half <= 4096, "rope: head_dim above 8192");  // the cos/sin row fits in shared memory
  if (tokens == 0 || heads == 0 || half == 0) return;
  const DeviceArray<int64_t> d_pos(cc, std::span<const int64_t>(pos));
  const DeviceArray<float> d_freq(cc, inv_freq);
  const size_t smem = 2 * static_cast<size_t>(half) * sizeof(float);
  rope_kernel<<<static_cast<unsigned>(tokens), kThreads, smem, cc.cuda_stream()>>>(
      static_cast<float*>(x.raw()), d_pos.get(), d_freq.get(), static_cast<int>(heads), static_cast<int>(half), d);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
