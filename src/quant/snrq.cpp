// SNRQ, greedy (algorithms.md §4): the shared preparation (target shift,
// permutation, factor, group parameters) and the successive-rounding decoder
// that takes the nearest grid level to each conditional target.
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

// Positions by diag(H) ascending; ties keep the original order.
std::vector<int32_t> ascending_diag_perm(const LoadedHessian& h) {
  std::vector<int32_t> perm(static_cast<size_t>(h.n));
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int32_t a, int32_t b) { return h.at(a, a) < h.at(b, b); });
  return perm;
}

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

// Greedy successive rounding: every code the nearest level to its conditional target.
void greedy_decode(backend::Context& ctx, const SnrqTile& a) {
  const int64_t n = a.n, nr = a.nr, bs = a.block_size;
  std::vector<double> e(static_cast<size_t>(nr * n), 0.0), corr(static_cast<size_t>(nr * bs)),
      lt(static_cast<size_t>(bs * bs));
  std::fill(a.score, a.score + nr, 0.0);
  for (int64_t i2 = n; i2 > 0; i2 -= bs) {
    const int64_t i1 = std::max<int64_t>(i2 - bs, 0), nb = i2 - i1;
    block_lt(a.l, n, i1, nb, lt.data());
    tail_correction(ctx, e.data(), nr, n, a.l, n, i1, i2, corr.data());
    for (int64_t r = 0; r < nr; ++r) {
      const double* t = a.t + r * n + i1;
      double* er = e.data() + r * n + i1;
      double score = a.score[r];  // one running sum per row, in decoding order, as the beam keeps it
      for (int64_t j = nb - 1; j >= 0; --j) {
        const size_t gi = static_cast<size_t>(a.grp[i1 + j] * a.ldp + r);
        const double s = a.scales[gi], z = a.zeros[gi];
        const double c = conditional_target(t[j], corr[r * nb + j], er, lt.data() + j * nb, j, nb);
        const double q = quantize_code(c, s, z, a.maxq);
        a.codes[r * n + i1 + j] = static_cast<uint8_t>(q);
        const double v = s * (q - z);
        er[j] = t[j] - v;
        score = score + a.d2[i1 + j] * (c - v) * (c - v);
      }
      a.score[r] = score;
    }
  }
}

// Coordinate descent after decoding (the reference's optional passes): per
// row, columns from the last to the first, each code replaced by the nearest
// level to the minimizer of ½·(t − q)·H_π·(t − q)ᵀ along that coordinate,
// q_j − g_j / H_jj with g = (q − t)·H_π kept exact as codes change. No step
// increases the objective; a pass that changes nothing ends the row. Returns
// each row's ½·(q − t)·g, i.e. its objective, into `loss`.
void coordinate_descent(backend::Context& ctx, const SnrqTile& a, const double* hp, int passes, double* loss) {
  const int64_t n = a.n, nr = a.nr;
  std::vector<double> s(static_cast<size_t>(nr * n)), g(s.size());
  for (int64_t r = 0; r < nr; ++r)
    for (int64_t j = 0; j < n; ++j) {
      const size_t gi = static_cast<size_t>(a.grp[j] * a.ldp + r);
      s[r * n + j] = a.scales[gi] * (a.codes[r * n + j] - static_cast<double>(a.zeros[gi])) - a.t[r * n + j];
    }
  backend::gemm(ctx, false, false, nr, n, n, 1.0, s.data(), n, hp, n, 0.0, g.data(), n);
  for (int64_t r = 0; r < nr; ++r) {
    double* sr = s.data() + r * n;
    double* gr = g.data() + r * n;
    for (int pass = 0; pass < passes; ++pass) {
      bool changed = false;
      for (int64_t j = n - 1; j >= 0; --j) {
        const size_t gi = static_cast<size_t>(a.grp[j] * a.ldp + r);
        const double sc = a.scales[gi], z = a.zeros[gi];
        const double qj = sr[j] + a.t[r * n + j];
        const double code = quantize_code(qj - gr[j] / hp[j * n + j], sc, z, a.maxq);
        if (code == a.codes[r * n + j]) continue;
        const double delta = sc * (code - z) - qj;
        a.codes[r * n + j] = static_cast<uint8_t>(code);
        sr[j] += delta;
        for (int64_t k = 0; k < n; ++k) gr[k] += delta * hp[j * n + k];
        changed = true;
      }
      if (!changed) break;
    }
    double total = 0;
    for (int64_t j = 0; j < n; ++j) total += sr[j] * gr[j];
    loss[r] = total;
  }
}

class Snrq final : public Method {
 public:
  Snrq(const QuantOptions& grid, const SnrqOptions& opt) : Method(grid), opt_(opt) {}
  const char* name() const override { return "snrq"; }
  Needs needs() const override { return snrq_needs(opt_); }
  double sequence_alpha(int64_t index) const override {
    return sample_sequence_alpha(opt_.seed, index, opt_.beta);
  }
  QuantizedLinear round(backend::Context& ctx, const Tensor& W, const LayerStats& stats,
                        const LayerSite& site) const override {
    return snrq_round(ctx, W, stats, site, grid_, opt_, name(), greedy_decode, kRowTile, 0);
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

void block_lt(const double* l, int64_t n, int64_t i1, int64_t nb, double* out) {
  for (int64_t j = 0; j < nb; ++j) {
    const double dj = l[(i1 + j) * n + i1 + j];
    for (int64_t k = 0; k < nb; ++k) out[j * nb + k] = k > j ? l[(i1 + k) * n + i1 + j] / dj : 0.0;
  }
}

void tail_correction(backend::Context& ctx, const double* e, int64_t rows, int64_t lde, const double* l, int64_t n,
                     int64_t i1, int64_t i2, double* corr) {
  const int64_t nb = i2 - i1;
  if (i2 == n) {
    std::fill(corr, corr + rows * nb, 0.0);
    return;
  }
  backend::gemm(ctx, false, false, rows, nb, n - i2, 1.0, e + i2, lde, l + i2 * n + i1, n, 0.0, corr, nb);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < nb; ++j) corr[r * nb + j] /= l[(i1 + j) * n + i1 + j];
}

QuantizedLinear snrq_round(backend::Context& ctx, const Tensor& W, const LayerStats& stats, const LayerSite& site,
                           const QuantOptions& grid, const SnrqOptions& opt, const char* method, const Decoder& decode,
                           int64_t tile_rows, int parallel) {
  const std::string& layer = site.name;
  MACA_CHECK(stats.h && stats.h->defined(), "layer {}: {} needs the layer's Hessian", layer, method);
  const Needs needs = snrq_needs(opt);
  MACA_CHECK(!needs.cross || (stats.d && stats.d->defined()),
             "layer {}: {} with alpha_mode {} needs the asymmetric statistics D", layer, method, mode_name(opt.mode));
  std::vector<double> w = load_weight(W, layer);
  const int64_t rows = W.dim(0), n = W.dim(1);
  const LoadedHessian h = load_hessian(*stats.h, n, layer);
  zero_dead_inputs(w, h);

  QuantizedLinear q = new_result(rows, n, grid, method);
  q.act_order = true;  // columns in a permuted order: exported with desc_act and g_idx
  q.perm = ascending_diag_perm(h);
  const std::vector<int32_t>& perm = q.perm;
  const DampedFactors factors =
      damped_factors(ctx, h, perm, grid, layer, {.hp_lower = true, .hp = opt.cd_passes > 0});
  q.damp = factors.damp;
  const auto [alpha, source] = layer_alpha(opt, site);
  q.alpha = alpha;
  q.alpha_source = source;
  const std::vector<double> d = needs.cross ? load_cross(*stats.d, h, layer) : std::vector<double>();
  const bool shift = needs.cross && (alpha != 0 || opt.mode == AlphaMode::ClosedForm);
  const bool terms = needs.cross && opt.mode != AlphaMode::Sample;  // α* needs the unfolded D
  // The decoders read the factors as host memory (ctx is a CPU context: SNRQ is not device-resident).
  const double* l = factors.hp_lower.data<double>();
  std::vector<double> d2(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) d2[j] = l[j * n + j] * l[j * n + j];

  const int64_t g = grid.group_size < 0 ? n : grid.group_size;
  const int64_t n_groups = (n + g - 1) / g;
  q.scales.resize(static_cast<size_t>(n_groups * rows));
  q.zeros.resize(q.scales.size());
  q.codes.resize(static_cast<size_t>(rows * n));
  std::vector<int32_t> grp(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) grp[i] = static_cast<int32_t>(i / g);
  q.g_idx.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) q.g_idx[perm[i]] = grp[i];
  if (terms) q.alpha_terms.assign(static_cast<size_t>(2 * rows), 0.0);
  const Grid gr{grid.bits, grid.sym, grid.clip, grid.scale_rounding};

  const int64_t tiles = (rows + tile_rows - 1) / tile_rows;
  std::vector<double> row_score(static_cast<size_t>(rows), 0.0);
  for_each_tile(tiles, parallel, [&](int64_t ti) {
    const int64_t r0 = ti * tile_rows, nr = std::min(tile_rows, rows - r0);
    std::vector<double> wp(static_cast<size_t>(nr * n));
    for (int64_t r = 0; r < nr; ++r)
      for (int64_t i = 0; i < n; ++i) wp[r * n + i] = w[(r0 + r) * n + perm[i]];
    std::vector<double> t = wp, m, x;  // the target; W·D (permuted) and W·D·H_π⁻¹
    if (shift || terms) {
      std::vector<double> md(static_cast<size_t>(nr * n));
      backend::gemm(ctx, false, false, nr, n, n, 1.0, w.data() + r0 * n, n, d.data(), n, 0.0, md.data(), n);
      m.resize(md.size());
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t i = 0; i < n; ++i) m[r * n + i] = md[r * n + perm[i]];
      x = m;
      backend::cholesky_solve(ctx, n, nr, l, n, false, x.data(), n);
      if (shift)
        for (size_t i = 0; i < t.size(); ++i) t[i] += alpha * x[i];
    }
    for (int64_t j = 0; j < n_groups; ++j)
      find_params(gr, t.data() + j * g, nr, std::min(g, n - j * g), n, q.scales.data() + j * rows + r0,
                  q.zeros.data() + j * rows + r0);
    std::vector<uint8_t> codes(static_cast<size_t>(nr * n));
    const SnrqTile tile{.t = t.data(), .nr = nr, .n = n, .l = l, .d2 = d2.data(),
                        .scales = q.scales.data() + r0, .zeros = q.zeros.data() + r0, .ldp = rows,
                        .grp = grp.data(), .maxq = gr.maxq(), .block_size = opt.block_size, .codes = codes.data(),
                        .score = row_score.data() + r0};
    decode(ctx, tile);
    if (opt.cd_passes > 0)
      coordinate_descent(ctx, tile, factors.hp.data<double>(), opt.cd_passes, row_score.data() + r0);
    for (int64_t r = 0; r < nr; ++r)
      for (int64_t i = 0; i < n; ++i) q.codes[(r0 + r) * n + perm[i]] = codes[r * n + i];
    if (terms)
      for (int64_t r = 0; r < nr; ++r) {
        double num = 0, den = 0;
        for (int64_t i = 0; i < n; ++i) {
          const size_t gi = static_cast<size_t>(grp[i] * rows + r0 + r);
          const double deq = q.scales[gi] * (static_cast<double>(codes[r * n + i]) - q.zeros[gi]);
          num += (deq - wp[r * n + i]) * m[r * n + i];
          den += x[r * n + i] * m[r * n + i];
        }
        q.alpha_terms[2 * (r0 + r)] = num;
        q.alpha_terms[2 * (r0 + r) + 1] = den;
      }
  });
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
