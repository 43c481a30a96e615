#include "quant/prepared_stats.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.h"

namespace maca::quant {
namespace {

// Input order sorted by diag(H) (dead inputs read as 1), stable.
std::vector<int32_t> column_order(const LoadedHessian& h, ColumnOrder order) {
  std::vector<int32_t> perm(static_cast<size_t>(h.n));
  std::iota(perm.begin(), perm.end(), 0);
  if (order == ColumnOrder::DiagDescending)
    std::stable_sort(perm.begin(), perm.end(), [&](int32_t a, int32_t b) { return h.at(a, a) > h.at(b, b); });
  else if (order == ColumnOrder::DiagAscending)
    std::stable_sort(perm.begin(), perm.end(), [&](int32_t a, int32_t b) { return h.at(a, a) < h.at(b, b); });
  return perm;
}

// out = D as double with dead rows and columns zeroed: in out's memory on the
// CPU, made on ctx's device otherwise.
void load_cross(backend::Context& ctx, const Tensor& D, const std::vector<uint8_t>& dead, const std::string& layer,
                Tensor& out) {
  const auto n = static_cast<int64_t>(dead.size());
  MACA_CHECK(D.dtype() == DType::F32 && D.device().is_cpu() && D.ndim() == 2 && D.dim(0) == n && D.dim(1) == n,
             "layer {}: the asymmetric statistics D must be host f32 [{}, {}], got {}", layer, n, n, D.str());
  const bool keep = out.defined() && ctx.device().is_cpu();
  Tensor host = keep ? out : Tensor::empty({n, n}, DType::F64);
  const float* src = D.data<float>();
  double* d = host.data<double>();
  for (int64_t i = 0; i < n * n; ++i) {
    MACA_CHECK(std::isfinite(src[i]), "layer {}: the asymmetric statistics D have a non-finite entry ({})", layer,
               src[i]);
    d[i] = src[i];
  }
  for (int64_t i = 0; i < n; ++i)
    if (dead[static_cast<size_t>(i)])
      for (int64_t j = 0; j < n; ++j) d[i * n + j] = d[j * n + i] = 0;
  if (!keep) out = ctx.to_device(host);
}

}  // namespace

int PrepRequest::matrices() const {
  if (!hessian) return 0;
  return int{factors.hinv_u} + int{factors.h_factor} + int{factors.hp_lower} + int{factors.hp} + int{cross};
}

PreparedStats allocate_prepared(const backend::Context& ctx, const PrepRequest& req, int64_t n,
                                const MatrixSource& next) {
  PreparedStats p;
  if (!req.hessian || !ctx.device().is_cpu()) return p;
  const auto take = [&](bool wanted, Tensor& t) {
    if (!wanted) return;
    t = next();
    MACA_ASSERT(t.dtype() == DType::F64 && t.shape() == Shape({n, n}), "prepared matrix {} for n = {}", t.str(), n);
  };
  take(req.factors.hinv_u, p.factors.hinv_u);
  take(req.factors.h_factor, p.factors.h_factor);
  take(req.factors.hp_lower, p.factors.hp_lower);
  take(req.factors.hp, p.factors.hp);
  take(req.cross, p.d);
  return p;
}

void prepare(backend::Context& ctx, const PrepRequest& req, const LayerStats& stats, const QuantOptions& grid,
             const std::string& layer, PreparedStats& p) {
  if (!req.hessian) return;
  MACA_CHECK(stats.h && stats.h->defined(), "layer {}: the method needs the layer's Hessian", layer);
  MACA_CHECK(!req.cross || (stats.d && stats.d->defined()),
             "layer {}: the method needs the asymmetric statistics D", layer);
  const int64_t n = stats.h->ndim() == 2 ? stats.h->dim(0) : 0;
  const LoadedHessian h = load_hessian(*stats.h, n, layer);
  p.n = n;
  p.dead = h.dead;
  p.perm = column_order(h, req.order);
  damped_factors(ctx, h, p.perm, grid, layer, req.factors, p.factors);
  if (req.cross) load_cross(ctx, *stats.d, p.dead, layer, p.d);
}

PreparedStats prepare(backend::Context& ctx, const PrepRequest& req, const LayerStats& stats, const QuantOptions& grid,
                      const std::string& layer) {
  PreparedStats p;
  prepare(ctx, req, stats, grid, layer, p);
  return p;
}

std::vector<uint8_t> pack_small(const PreparedStats& p) {
  const auto n = static_cast<size_t>(p.n);
  MACA_ASSERT(p.perm.size() == n && p.dead.size() == n, "pack_small: {} inputs, {} perm, {} dead", n, p.perm.size(),
              p.dead.size());
  std::vector<uint8_t> out(sizeof(int64_t) + sizeof(double) + n * (sizeof(int32_t) + 1));
  uint8_t* at = out.data();
  const auto put = [&](const void* src, size_t bytes) {
    std::memcpy(at, src, bytes);
    at += bytes;
  };
  put(&p.n, sizeof(int64_t));
  put(&p.factors.damp, sizeof(double));
  put(p.perm.data(), n * sizeof(int32_t));
  put(p.dead.data(), n);
  return out;
}

void unpack_small(std::span<const uint8_t> bytes, PreparedStats& p) {
  MACA_ASSERT(bytes.size() >= sizeof(int64_t) + sizeof(double), "unpack_small: {} bytes", bytes.size());
  const uint8_t* at = bytes.data();
  const auto get = [&](void* dst, size_t size) {
    std::memcpy(dst, at, size);
    at += size;
  };
  get(&p.n, sizeof(int64_t));
  const auto n = static_cast<size_t>(p.n);
  MACA_ASSERT(bytes.size() == sizeof(int64_t) + sizeof(double) + n * (sizeof(int32_t) + 1),
              "unpack_small: {} bytes for {} inputs", bytes.size(), n);
  get(&p.factors.damp, sizeof(double));
  p.perm.resize(n);
  get(p.perm.data(), n * sizeof(int32_t));
  p.dead.resize(n);
  get(p.dead.data(), n);
}

}  // namespace maca::quant
