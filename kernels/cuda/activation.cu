// gated_activation: out = act(gate) · up, a 1-D grid-stride loop with one
// element per thread per step (consecutive threads, consecutive elements); the
// activation is a template parameter, so one launch without a branch inside.
// act is shared::silu with CUDA's expf, or shared::gelu_tanh (the CPU's
// formulas). Each element is read and written by one thread, so out may alias
// gate.
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/kernel_util.cuh"
#include "kernels/shared/elementwise_math.h"

namespace maca::kernels::cuda {
namespace {

template <backend::Activation Act>
__global__ void gated_activation_kernel(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = grid_first(); i < n; i += grid_stride()) {
    float a;
    if constexpr (Act == backend::Activation::Silu)
      a = shared::silu(gate[i], shared::Expf{});
    else
      a = shared::gelu_tanh(gate[i]);
    out[i] = a * up[i];
  }
}

}  // namespace

void gated_activation(backend::Context& ctx, const Tensor& gate, const Tensor& up, backend::Activation act,
                      Tensor& out) {
  CudaContext& cc = cuda_context(ctx);
  MACA_CUDA_REQUIRE(gate.dtype() == DType::F32 && up.dtype() == DType::F32 && out.dtype() == DType::F32,
                    "gated_activation: gate, up and out must be f32");
  MACA_CUDA_REQUIRE(gate.numel() == up.numel() && out.numel() == gate.numel(),
                    "gated_activation: gate, up and out must have the same size");
  const int64_t n = gate.numel();
  if (n == 0) return;
  const auto* g = static_cast<const float*>(gate.raw());
  const auto* u = static_cast<const float*>(up.raw());
  auto* o = static_cast<float*>(out.raw());
  const unsigned blocks = elementwise_blocks(n);
  switch (act) {
    case backend::Activation::Silu:
      gated_activation_kernel<backend::Activation::Silu>
          <<<blocks, kElementwiseThreads, 0, cc.cuda_stream()>>>(g, u, o, n);
      break;
    case backend::Activation::GeluTanh:
      gated_activation_kernel<backend::Activation::GeluTanh>
          <<<blocks, kElementwiseThreads, 0, cc.cuda_stream()>>>(g, u, o, n);
      break;
    default:
      MACA_CUDA_REQUIRE(false, "gated_activation: unknown activation");
  }
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
