#include <cmath>

#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/fast_exp.h"

namespace maca::kernels::cpu {
namespace {
inline float silu(float x) { return x / (1.0f + fast_expf(-x)); }
// PyTorch gelu(approximate="tanh"), HF "gelu_pytorch_tanh".
inline float gelu_tanh(float x) {
  constexpr float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}
template <float (*Act)(float)>
void apply(const float* g, const float* u, float* o, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) o[i] = Act(g[i]) * u[i];
}
}  // namespace

void gated_activation(backend::Context&, const Tensor& gate, const Tensor& up, backend::Activation act, Tensor& out) {
  MACA_ASSERT(gate.numel() == up.numel() && out.numel() == gate.numel(), "gated_activation: gate {} up {} out {}",
              gate.str(), up.str(), out.str());
  const int64_t n = gate.numel();
  switch (act) {
    case backend::Activation::Silu:
      return apply<silu>(gate.data<float>(), up.data<float>(), out.data<float>(), n);
    case backend::Activation::GeluTanh:
      return apply<gelu_tanh>(gate.data<float>(), up.data<float>(), out.data<float>(), n);
  }
}

}  // namespace maca::kernels::cpu
