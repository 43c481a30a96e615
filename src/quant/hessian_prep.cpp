#include "quant/hessian_prep.h"

#include <cmath>

#include "backend/ops.h"
#include "core/error.h"
#include "core/log.h"

namespace maca::quant {

LoadedHessian load_hessian(const Tensor& H, int64_t n, const std::string& layer) {
  MACA_CHECK(H.dtype() == DType::F32 && H.device().is_cpu() && H.ndim() == 2 && H.dim(0) == n && H.dim(1) == n,
             "layer {}: the Hessian must be host f32 [{}, {}], got {}", layer, n, n, H.str());
  LoadedHessian out;
  out.n = n;
  out.src = H.data<float>();
  out.dead.assign(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n * n; ++i)
    MACA_CHECK(std::isfinite(out.src[i]),
               "layer {}: the Hessian has a non-finite entry ({}); the calibration forward "
               "overflowed",
               layer, out.src[i]);
  for (int64_t i = 0; i < n; ++i)
    if (out.src[i * n + i] == 0) out.dead[static_cast<size_t>(i)] = 1;
  return out;
}

namespace {

// True when `t` is memory the caller gave for a factor (host memory, on the
// CPU), to be filled in place.
bool in_place(const backend::Context& ctx, const Tensor& t) { return t.defined() && ctx.device().is_cpu(); }

// out = [n, n] f64 with entries h.at(row(i), row(j)) + add on the diagonal,
// on ctx's device: in out's own memory when in_place(out).
template <class Index>
void damped(backend::Context& ctx, const LoadedHessian& h, double add, Index index, Tensor& out) {
  const int64_t n = h.n;
  const bool keep = in_place(ctx, out);
  if (!keep) out = Tensor();  // a retry's old buffer goes before the new one comes
  Tensor a = keep ? out : Tensor::empty({n, n}, DType::F64);
  double* p = a.data<double>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) p[i * n + j] = h.at(index(i), index(j));
  for (int64_t i = 0; i < n; ++i) p[i * n + i] += add;
  if (!keep) out = ctx.to_device(a);
}

// Fills `out` for one λ; false when a Cholesky factorization fails.
bool try_factors(backend::Context& ctx, const LoadedHessian& h, const std::vector<int32_t>& perm, double add,
                 FactorRequest want, DampedFactors& out) {
  const int64_t n = h.n;
  if (want.h_factor) {
    damped(ctx, h, add, [](int64_t i) { return i; }, out.h_factor);
    if (!backend::cholesky(ctx, n, out.h_factor.device_data<double>(), n, false)) return false;
  }
  if (want.hp_lower) {
    damped(ctx, h, add, [&](int64_t i) { return perm[i]; }, out.hp_lower);
    if (want.hp && in_place(ctx, out.hp))
      ctx.copy(out.hp.raw(), out.hp_lower.raw(), out.hp.nbytes());
    else if (want.hp)
      out.hp = ctx.clone(out.hp_lower);
    if (!backend::cholesky(ctx, n, out.hp_lower.device_data<double>(), n, false)) return false;
  }
  if (!want.hinv_u) return true;
  // The upper factor U of A⁻¹ (A = Pᵀ·H_λ·P, A⁻¹ = UᵀU) in one factorization:
  // with J the order reversal and J·A·J = L·Lᵀ, A⁻¹ = (J·L⁻¹·J)ᵀ(J·L⁻¹·J) and
  // J·L⁻¹·J is upper triangular with a positive diagonal, so it is U (the
  // factor is unique). Half the flops of potrf + potri + potrf, the inverse
  // runs in parallel, and all of it in the one n × n buffer.
  damped(ctx, h, add, [&](int64_t i) { return perm[n - 1 - i]; }, out.hinv_u);
  if (!backend::cholesky(ctx, n, out.hinv_u.device_data<double>(), n, false)) return false;
  backend::triangular_inverse(ctx, n, out.hinv_u.device_data<double>(), n, true);
  return true;
}

}  // namespace

void damped_factors(backend::Context& ctx, const LoadedHessian& h, const std::vector<int32_t>& perm,
                    const QuantOptions& opt, const std::string& layer, FactorRequest want, DampedFactors& out) {
  const int64_t n = h.n;
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += h.at(i, i);
  mean /= static_cast<double>(n);
  MACA_CHECK(mean > 0,
             "layer {}: the Hessian's mean diagonal is {} (must be positive); the calibration "
             "statistics are broken",
             layer, mean);
  double lambda = opt.damp;
  for (int attempt = 0;; ++attempt) {
    if (try_factors(ctx, h, perm, lambda * mean, want, out)) {
      out.damp = lambda;
      return;
    }
    MACA_CHECK(attempt < opt.damp_retries,
               "layer {}: the Hessian is not positive definite even with damping "
               "λ = {} after {} retries; check the calibration data or raise quant.damp",
               layer, lambda, opt.damp_retries);
    lambda *= 10;
    spdlog::warn("layer {}: Cholesky of the damped Hessian failed; retrying with damp λ = {}", layer, lambda);
  }
}

}  // namespace maca::quant
