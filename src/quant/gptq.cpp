// GPTQ's lazy-batch loop (algorithms.md §2), in double precision throughout
// (W, H⁻¹ factor, errors) so results do not depend on BLAS summation order at
// the level of rounding ties.
//
// Group parameters: g = −1 once from the whole W; static groups per original
// group up front; dynamic groups when the loop reaches a group's first
// (processing-order) column, from that group's CURRENT, already error-updated
// columns (quant.group_params = current), or, as the GPTQ reference does,
// from the columns as they were when the enclosing lazy block began
// (block_start). With dynamic groups the block width is
// rounded to a multiple of g, so a group never straddles blocks and the result
// does not depend on block_size (the lazy batch is exact in exact arithmetic).
//
// Rows are independent: the damped factors are computed once, then the rows
// are rounded in tiles of kRowTile rows (counted from the layer's first row),
// each tile with single-threaded BLAS calls, tiles spread over the threads.
// A row's bits therefore depend only on its tile, not on the thread count nor
// on which rank rounds it (ranks get tile-aligned row slices).
#include <algorithm>
#include <exception>
#include <numeric>

#include "backend/ops.h"
#include "quant/grid.h"
#include "quant/methods.h"

namespace maca::quant {
namespace {

// Inputs by diag(H) descending; ties keep the original order.
std::vector<int32_t> act_order_perm(const LoadedHessian& h) {
  std::vector<int32_t> perm(static_cast<size_t>(h.n));
  std::iota(perm.begin(), perm.end(), 0);
  std::stable_sort(perm.begin(), perm.end(), [&](int32_t a, int32_t b) { return h.at(a, a) > h.at(b, b); });
  return perm;
}

// Rounds rows [r0, r0 + nr) of the layer: w holds them ([nr, cols], original
// order; consumed), the results go to q's rows r0… (scales/zeros [n_groups,
// q.rows]); grp is the group of each processing-order column. Returns the
// rows' loss.
double round_rows(backend::Context& ctx, std::vector<double> w, int64_t r0, int64_t nr,
                  const std::vector<double>& hinv_u, const std::vector<int32_t>& grp, const QuantOptions& opt,
                  QuantizedLinear& q) {
  const int64_t rows = q.rows, cols = q.cols;
  const std::vector<int32_t>& perm = q.perm;
  const bool whole_row = opt.group_size < 0;
  const int64_t g = whole_row ? cols : opt.group_size;
  const bool dynamic = !whole_row && !opt.static_groups;
  const Grid grid{opt.bits, opt.sym, opt.clip, opt.scale_rounding};
  const int64_t n_groups = (cols + g - 1) / g;  // the last one may be shorter (partial_groups)
  float* scales = q.scales.data() + r0;
  int32_t* zeros = q.zeros.data() + r0;

  if (!dynamic)  // one group per row, or static groups of original columns
    for (int64_t j = 0; j < n_groups; ++j)
      find_params(grid, w.data() + j * g, nr, std::min(g, cols - j * g), cols, scales + j * rows, zeros + j * rows);

  std::vector<double> wp(w.size());
  for (int64_t r = 0; r < nr; ++r)
    for (int64_t i = 0; i < cols; ++i) wp[r * cols + i] = w[r * cols + perm[i]];
  std::vector<double>().swap(w);

  const int64_t bs = dynamic ? g * std::max<int64_t>(1, opt.block_size / g) : opt.block_size;
  const bool stale = dynamic && opt.group_params == GroupParams::BlockStart;
  std::vector<double> block_start;  // stale: the block's columns as the block began
  std::vector<uint8_t> codes_p(wp.size());
  std::vector<double> err(static_cast<size_t>(nr * bs)), loss(static_cast<size_t>(nr), 0.0);
  for (int64_t i1 = 0; i1 < cols; i1 += bs) {
    const int64_t i2 = std::min(i1 + bs, cols), nb = i2 - i1;
    const backend::GptqColumns args{.w = wp.data() + i1,
                                    .rows = nr,
                                    .ncols = nb,
                                    .ldw = cols,
                                    .hinv = hinv_u.data() + i1 * cols + i1,
                                    .ldh = cols,
                                    .scales = scales,
                                    .zeros = zeros,
                                    .ldp = rows,
                                    .grp = grp.data() + i1,
                                    .maxq = grid.maxq(),
                                    .codes = codes_p.data() + i1,
                                    .ldc = cols,
                                    .err = err.data(),
                                    .lde = bs,
                                    .loss = loss.data()};
    if (stale) {
      block_start.resize(static_cast<size_t>(nr * nb));
      for (int64_t r = 0; r < nr; ++r) std::copy_n(wp.data() + r * cols + i1, nb, block_start.data() + r * nb);
    }
    if (dynamic) {
      for (int64_t c0 = 0; c0 < nb; c0 += g) {
        const int64_t j = (i1 + c0) / g, len = std::min(g, nb - c0);
        if (stale)
          find_params(grid, block_start.data() + c0, nr, len, nb, scales + j * rows, zeros + j * rows);
        else
          find_params(grid, wp.data() + i1 + c0, nr, len, cols, scales + j * rows, zeros + j * rows);
        backend::gptq_columns(ctx, args, c0, c0 + len);
      }
    } else {
      backend::gptq_columns(ctx, args, 0, nb);
    }
    if (i2 < cols)  // lazy batch: W[:, i2:] −= Err · Hinv[i1:i2, i2:]
      backend::gemm(ctx, false, false, nr, cols - i2, nb, -1.0, err.data(), bs, hinv_u.data() + i1 * cols + i2, cols,
                    1.0, wp.data() + i2, cols);
  }

  for (int64_t r = 0; r < nr; ++r)
    for (int64_t i = 0; i < cols; ++i) q.codes[(r0 + r) * cols + perm[i]] = codes_p[r * cols + i];
  return std::accumulate(loss.begin(), loss.end(), 0.0);
}

}  // namespace

QuantizedLinear gptq(const Tensor& W, const Tensor& H, const Tensor* D, const QuantOptions& opt,
                     const std::string& layer) {
  auto ctx = backend::Context::create(Device::cpu());
  std::vector<double> w = load_weight(W, layer);
  const int64_t rows = W.dim(0), cols = W.dim(1);
  const LoadedHessian h = load_hessian(H, cols, layer);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k)
      if (h.dead[k]) w[r * cols + k] = 0;

  QuantizedLinear q = new_result(rows, cols, opt, true);
  if (opt.act_order) {
    q.perm = act_order_perm(h);
  } else {
    q.perm.resize(static_cast<size_t>(cols));
    std::iota(q.perm.begin(), q.perm.end(), 0);
  }
  const DampedFactors factors = damped_factors(*ctx, h, q.perm, opt, layer, D != nullptr);
  q.damp = factors.damp;
  const std::vector<double> cross = D ? gptaq_cross(*D, h, layer) : std::vector<double>();
  if (D) q.alpha = opt.alpha;
  q.method = method_name(D ? Method::Gptaq : Method::Gptq);

  const int64_t g = opt.group_size < 0 ? cols : opt.group_size;
  q.scales.resize(static_cast<size_t>((cols + g - 1) / g * rows));
  q.zeros.resize(q.scales.size());
  q.codes.resize(static_cast<size_t>(rows * cols));
  // Group of each processing-order column; g_idx is the same in input order.
  std::vector<int32_t> grp(static_cast<size_t>(cols));
  const bool dynamic = opt.group_size >= 0 && !opt.static_groups;
  for (int64_t i = 0; i < cols; ++i)
    grp[i] = static_cast<int32_t>(opt.group_size < 0 ? 0 : dynamic ? i / g : q.perm[i] / g);
  q.g_idx.resize(static_cast<size_t>(cols));
  for (int64_t i = 0; i < cols; ++i) q.g_idx[q.perm[i]] = grp[i];

  const int64_t tiles = (rows + kRowTile - 1) / kRowTile;
  std::vector<double> tile_loss(static_cast<size_t>(tiles), 0.0);
  std::vector<std::exception_ptr> failed(static_cast<size_t>(tiles));
#pragma omp parallel for schedule(dynamic) if (tiles > 1)
  for (int64_t t = 0; t < tiles; ++t) {
    try {
      const int64_t r0 = t * kRowTile, nr = std::min(kRowTile, rows - r0);
      std::vector<double> wt(w.begin() + r0 * cols, w.begin() + (r0 + nr) * cols);
      if (D) gptaq_shift(*ctx, wt.data(), nr, cols, cross, factors, opt.alpha);
      tile_loss[static_cast<size_t>(t)] = round_rows(*ctx, std::move(wt), r0, nr, factors.hinv_u, grp, opt, q);
    } catch (...) {
      failed[static_cast<size_t>(t)] = std::current_exception();
    }
  }
  for (const auto& e : failed)
    if (e) std::rethrow_exception(e);
  q.loss = std::accumulate(tile_loss.begin(), tile_loss.end(), 0.0);
  return q;
}

}  // namespace maca::quant
