#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/fast_exp.h"
#include "kernels/shared/elementwise_math.h"

namespace maca::kernels::cpu {
namespace {
inline float silu(float x) { return shared::silu(x, fast_expf); }
inline float gelu_tanh(float x) { return shared::gelu_tanh(x); }
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
