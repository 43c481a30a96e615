// SNRQ, greedy (algorithms.md §4): the shared preparation (target shift,
// permutation, factor, group parameters) and the driver that rounds a layer
// through the decoder ops, on whatever device ctx has: the layer's rows go in
// chunks whose weights, targets, residual paths and codes live on the
// device; the host keeps the Hessian's permutation and the result.
#include "quant/snrq.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "backend/ops.h"
#include "core/error.h"
#include "core/splitmix.h"
#include "quant/grid.h"
#include "quant/hessian_prep.h"
#include "quant/methods.h"

namespace maca::quant {
namespace {

const char* mode_name(AlphaMode m) {
  switch (m) {
    case AlphaMode::Fixed:
      return "fixed";
    case AlphaMode::Sample:
      return "sample";
    case AlphaMode::ClosedForm:
      return "closed_form";
  }
  return "?";
}

class Snrq final : public Method {
 public:
  Snrq(const QuantOptions& grid, const SnrqOptions& opt) : Method(grid), opt_(opt) {}
  const char* name() const override { return "snrq"; }
  Needs needs() const override { return snrq_needs(opt_); }
  PrepRequest prep_request() const override { return snrq_request(opt_); }
  double sequence_alpha(int64_t index) const override {
    return sample_sequence_alpha(opt_.seed, index, opt_.beta);
  }
  QuantizedLinear round(backend::Context& ctx, const Tensor& W, const PreparedStats& prep,
                        const LayerSite& site) const override {
    return snrq_round(ctx, W, prep, site, grid_, opt_, name(), DecodePlan{});
  }

 private:
  SnrqOptions opt_;
};

}  // namespace

void declare_snrq_options(config::Schema& s) {
  s.add({"quant.snrq.alpha_mode", std::string("fixed"),
         "snrq/ksnrq: how alpha (the weight of the full-precision stream in the target) is chosen: fixed "
         "(quant.snrq.alpha), sample (per calibration sequence alpha_s = min(a, 1-a), a ~ Beta(beta, beta), folded "
         "into D; drawn from calib.seed and the sequence index), closed_form (alpha* of the previous block's layer of "
         "the same type: block 0 uses 0, block 1 quant.snrq.alpha)",
         config::one_of({"fixed", "sample", "closed_form"})});
  s.add({"quant.snrq.alpha", 0.25, "snrq/ksnrq: alpha of the fixed mode, and closed_form's value for block 1 (0 = "
         "GPTQ's objective, 1 = fully asymmetric)", config::in_range(0, 1)});
  s.add({"quant.snrq.beta", 5.0, "snrq/ksnrq sample mode: the Beta(beta, beta) parameter",
         config::in_range(1e-3, 1e6)});
  s.add({"quant.snrq.cd_passes", std::int64_t{0},
         "snrq/ksnrq: coordinate-descent passes after decoding (each code moved to the nearest level of its "
         "coordinate's minimizer; stops early when a pass changes nothing); 0: none, as the published method",
         config::in_range(0, 100)});
  s.add({"quant.snrq.block_size", std::int64_t{128},
         "snrq/ksnrq: columns per block of the decoder (the decoded tail enters as one GEMM per block; any value "
         "gives the same codes up to summation order)", config::in_range(1, 1 << 16)});
}

SnrqOptions read_snrq_options(const config::Config& cfg) {
  const std::string& mode = cfg.get_string("quant.snrq.alpha_mode");
  return {.mode = mode == "sample"        ? AlphaMode::Sample
                  : mode == "closed_form" ? AlphaMode::ClosedForm
                                          : AlphaMode::Fixed,
          .alpha = cfg.get_float("quant.snrq.alpha"),
          .beta = cfg.get_float("quant.snrq.beta"),
          .seed = static_cast<uint64_t>(cfg.get_int("calib.seed")),
          .block_size = cfg.get_int("quant.snrq.block_size"),
          .cd_passes = static_cast<int>(cfg.get_int("quant.snrq.cd_passes"))};
}

Needs snrq_needs(const SnrqOptions& opt) {
  const bool cross = opt.mode != AlphaMode::Fixed || opt.alpha != 0;
  return {.hessian = true, .cross = cross, .sample_alpha = opt.mode == AlphaMode::Sample};
}

PrepRequest snrq_request(const SnrqOptions& opt) {
  return {.hessian = true,
          .order = ColumnOrder::DiagAscending,
          .factors = {.hp_lower = true, .hp = opt.cd_passes > 0},
          .cross = snrq_needs(opt).cross};
}

double sample_sequence_alpha(uint64_t seed, int64_t index, double beta) {
  SplitMix rng = keyed_stream(seed, static_cast<uint64_t>(index));
  const double x = rng.gamma(beta), y = rng.gamma(beta);
  const double a = x / (x + y);
  return std::min(a, 1.0 - a);
}

std::pair<double, std::string> layer_alpha(const SnrqOptions& opt, const LayerSite& site) {
  switch (opt.mode) {
    case AlphaMode::Fixed:
      return {opt.alpha, "fixed"};
    case AlphaMode::Sample:
      return {1.0, fmt::format("sample(beta={:g})", opt.beta)};
    case AlphaMode::ClosedForm:
      if (site.block == 0) return {0.0, "closed_form: block 0"};
      if (site.block == 1 || !site.previous_alpha_star) return {opt.alpha, "closed_form: reference value"};
      return {*site.previous_alpha_star, fmt::format("closed_form: alpha* of block {}", site.block - 1)};
  }
  return {opt.alpha, mode_name(opt.mode)};
}

namespace {

// What every chunk of a layer shares, on the context's device.
struct SnrqLayer {
  const double* l;   // [n, n] lower Cholesky factor of H_π
  const double* hp;  // [n, n] H_π (coordinate descent only)
  const double* d;   // [n, n] D (the target shift or α's terms only)
  Tensor grp;        // [n] group of each position
  Tensor scales;     // [n_groups, rows]
  Tensor zeros;
  int64_t rows, n, g;
  double alpha;
  bool shift, terms;
};

// Rounds rows [r0, r0 + nr) (w: the layer's host weights, original order):
// codes and α's terms into q, each row's score into row_score.
void round_chunk(backend::Context& ctx, SnrqLayer& L, const std::vector<double>& w, int64_t r0, int64_t nr,
                 const QuantOptions& grid, const SnrqOptions& opt, const DecodePlan& plan, QuantizedLinear& q,
                 std::vector<double>& row_score) {
  const int64_t n = L.n, rows = L.rows, tile = plan.tile_rows, K = plan.beams;
  const Grid gr{grid.bits, grid.sym, grid.clip, grid.scale_rounding};
  Tensor wt = ctx.to_device(Tensor::borrow(const_cast<double*>(w.data()) + r0 * n, {nr, n}, DType::F64, nullptr));
  Tensor wp = ctx.empty({nr, n}, DType::F64);
  backend::gather_columns(ctx, nr, q.perm, wt.device_data<double>(), n, wp.device_data<double>(), n);
  Tensor t = ctx.clone(wp), m, x;  // the target; W·D (permuted) and W·D·H_π⁻¹
  if (L.shift || L.terms) {
    Tensor md = ctx.empty({nr, n}, DType::F64);
    backend::gemm_row_tiles(ctx, tile, nr, n, n, 1.0, wt.device_data<double>(), n, L.d, n, 0.0,
                            md.device_data<double>(), n);
    m = ctx.empty({nr, n}, DType::F64);
    backend::gather_columns(ctx, nr, q.perm, md.device_data<double>(), n, m.device_data<double>(), n);
    x = ctx.clone(m);
    for (int64_t t0 = 0; t0 < nr; t0 += tile)
      backend::cholesky_solve(ctx, n, std::min(tile, nr - t0), L.l, n, false, x.device_data<double>() + t0 * n, n);
    if (L.shift) backend::axpy(ctx, nr * n, L.alpha, x.device_data<double>(), t.device_data<double>());
  }
  wt = Tensor();
  auto* scales = L.scales.device_data<float>() + r0;
  auto* zeros = L.zeros.device_data<int32_t>() + r0;
  const grid::GridSpec spec = grid_spec(gr);
  for (int64_t j = 0; j * L.g < n; ++j)
    backend::group_params(ctx, {.spec = spec, .x = t.device_data<double>() + j * L.g, .rows = nr,
                                .len = std::min(L.g, n - j * L.g), .ld = n, .scale = scales + j * rows,
                                .zero = zeros + j * rows});

  // Residual and code paths, beam-major: beam 0 of every row first.
  Tensor e = ctx.empty({K * nr, n}, DType::F64), path = ctx.empty({K * nr, n}, DType::U8);
  Tensor score = ctx.empty({K * nr}, DType::F64), live = ctx.empty({nr}, DType::I32);
  ctx.zero(e.raw(), e.nbytes());  // dead beams' tails enter the tail GEMM: keep them finite
  ctx.zero(score.raw(), score.nbytes());
  const int64_t bs = opt.block_size;
  Tensor corr = ctx.empty({K * nr, std::min(bs, n)}, DType::F64);
  const int32_t* grp = L.grp.device_data<int32_t>();
  for (int64_t i2 = n; i2 > 0; i2 -= bs) {
    const int64_t i1 = std::max<int64_t>(i2 - bs, 0), nb = i2 - i1;
    if (i2 < n)  // the decoded tail's contribution, per beam, per row tile
      for (int64_t b = 0; b < K; ++b)
        backend::gemm_row_tiles(ctx, tile, nr, nb, n - i2, 1.0, e.device_data<double>() + b * nr * n + i2, n,
                                L.l + i2 * n + i1, n, 0.0, corr.device_data<double>() + b * nr * nb, nb);
    backend::snrq_block(ctx, {.t = t.device_data<double>(), .rows = nr, .n = n, .i1 = i1, .i2 = i2, .l = L.l,
                              .corr = i2 < n ? corr.device_data<double>() : nullptr, .scales = scales,
                              .zeros = zeros, .ldp = rows, .grp = grp, .maxq = gr.maxq(), .greedy = plan.greedy,
                              .beams = K, .e = e.device_data<double>(), .path = path.device_data<uint8_t>(),
                              .score = score.device_data<double>(), .live = live.device_data<int32_t>()});
  }
  if (opt.cd_passes > 0) {  // beam 0's residuals t − q give g = (q − t)·H_π = −(t − q)·H_π
    Tensor g = ctx.empty({nr, n}, DType::F64);
    backend::gemm_row_tiles(ctx, tile, nr, n, n, -1.0, e.device_data<double>(), n, L.hp, n, 0.0,
                            g.device_data<double>(), n);
    backend::snrq_descent(ctx, {.t = t.device_data<double>(), .rows = nr, .n = n, .hp = L.hp, .scales = scales,
                                .zeros = zeros, .ldp = rows, .grp = grp, .maxq = gr.maxq(), .passes = opt.cd_passes,
                                .codes = path.device_data<uint8_t>(), .s = e.device_data<double>(),
                                .g = g.device_data<double>(), .loss = score.device_data<double>()});
  }
  if (L.terms) {
    Tensor terms = ctx.empty({nr, 2}, DType::F64);
    backend::snrq_alpha_terms(ctx, {.codes = path.device_data<uint8_t>(), .scales = scales, .zeros = zeros,
                                    .ldp = rows, .grp = grp, .w = wp.device_data<double>(),
                                    .m = m.device_data<double>(), .x = x.device_data<double>(), .rows = nr, .n = n,
                                    .terms = terms.device_data<double>()});
    const Tensor h = ctx.to_host(terms);
    std::copy_n(h.data<double>(), 2 * nr, q.alpha_terms.data() + 2 * r0);
  }
  const Tensor codes = ctx.to_host(path.slice_rows(0, nr));
  const auto* cp = codes.data<uint8_t>();
  for (int64_t r = 0; r < nr; ++r)
    for (int64_t i = 0; i < n; ++i) q.codes[(r0 + r) * n + q.perm[i]] = cp[r * n + i];
  const Tensor s = ctx.to_host(score.slice_rows(0, nr));
  std::copy_n(s.data<double>(), nr, row_score.data() + r0);
}

}  // namespace

QuantizedLinear snrq_round(backend::Context& ctx, const Tensor& W, const PreparedStats& prep, const LayerSite& site,
                           const QuantOptions& grid, const SnrqOptions& opt, const char* method,
                           const DecodePlan& plan) {
  const std::string& layer = site.name;
  const Needs needs = snrq_needs(opt);
  std::vector<double> w = load_weight(W, prep, layer);
  const int64_t rows = W.dim(0), n = W.dim(1);
  const DampedFactors& factors = prep.factors;
  MACA_ASSERT(factors.hp_lower.defined() && (opt.cd_passes == 0 || factors.hp.defined()) &&
                  (!needs.cross || prep.d.defined()),
              "layer {}: prepared without {}'s factors (alpha_mode {})", layer, method, mode_name(opt.mode));

  QuantizedLinear q = new_result(rows, n, grid, method);
  q.act_order = true;  // columns in a permuted order: exported with desc_act and g_idx
  q.perm = prep.perm;
  q.damp = factors.damp;
  const auto [alpha, source] = layer_alpha(opt, site);
  q.alpha = alpha;
  q.alpha_source = source;
  const bool shift = needs.cross && (alpha != 0 || opt.mode == AlphaMode::ClosedForm);
  const bool terms = needs.cross && opt.mode != AlphaMode::Sample;  // α* needs the unfolded D

  const int64_t g = grid.group_size < 0 ? n : grid.group_size;
  const int64_t n_groups = (n + g - 1) / g;
  q.scales.resize(static_cast<size_t>(n_groups * rows));
  q.zeros.resize(q.scales.size());
  q.codes.resize(static_cast<size_t>(rows * n));
  std::vector<int32_t> grp(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) grp[i] = static_cast<int32_t>(i / g);
  q.g_idx.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) q.g_idx[q.perm[i]] = grp[i];
  if (terms) q.alpha_terms.assign(static_cast<size_t>(2 * rows), 0.0);

  SnrqLayer L{.l = factors.hp_lower.device_data<double>(),
                    .hp = opt.cd_passes > 0 ? factors.hp.device_data<double>() : nullptr,
                    .d = needs.cross ? prep.d.device_data<double>() : nullptr,
                    .grp = ctx.to_device(Tensor::borrow(grp.data(), {n}, DType::I32, nullptr)),
                    .scales = ctx.empty({n_groups, rows}),
                    .zeros = ctx.empty({n_groups, rows}, DType::I32),
                    .rows = rows,
                    .n = n,
                    .g = g,
                    .alpha = alpha,
                    .shift = shift,
                    .terms = terms};
  const bool cpu = ctx.device().is_cpu();
  const int64_t chunk = cpu ? plan.tile_rows : plan.device_rows > 0 ? plan.device_rows : rows;
  MACA_ASSERT(chunk % plan.tile_rows == 0 || chunk >= rows, "snrq: chunk of {} rows is not whole tiles of {}", chunk,
              plan.tile_rows);
  std::vector<double> row_score(static_cast<size_t>(rows), 0.0);
  for_each_tile((rows + chunk - 1) / chunk, cpu ? plan.parallel : 1, [&](int64_t ci) {
    round_chunk(ctx, L, w, ci * chunk, std::min(chunk, rows - ci * chunk), grid, opt, plan, q, row_score);
  });
  const Tensor scales = ctx.to_host(L.scales), zeros = ctx.to_host(L.zeros);
  std::copy_n(scales.data<float>(), q.scales.size(), q.scales.data());
  std::copy_n(zeros.data<int32_t>(), q.zeros.size(), q.zeros.data());
  q.loss = 0.5 * std::accumulate(row_score.begin(), row_score.end(), 0.0);  // row order: any tiling, same bits
  return q;
}

std::optional<double> closed_form_alpha(const QuantizedLinear& q) {
  if (q.alpha_terms.empty()) return std::nullopt;
  double num = 0, den = 0;
  for (size_t r = 0; r + 1 < q.alpha_terms.size(); r += 2) {
    num += q.alpha_terms[r];
    den += q.alpha_terms[r + 1];
  }
  if (!(den > 0)) return std::nullopt;
  return std::clamp(num / den, 0.0, 1.0);
}

extern const MethodInfo snrq_method{
    .name = "snrq",
    .help = "regularized asymmetric calibration with successive rounding (quant.snrq.*)",
    .declare = declare_snrq_options,
    .create = [](const QuantOptions& grid, const config::Config& cfg) -> std::unique_ptr<Method> {
      return std::make_unique<Snrq>(grid, read_snrq_options(cfg));
    }};

}  // namespace maca::quant
