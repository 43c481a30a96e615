#include "pipeline/block_quantizer.h"

#include <fnmatch.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <span>
#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "core/timer.h"
#include "parallel/partition.h"
#include "pipeline/layer_exchange.h"

namespace maca::pipeline {
namespace {

using model::LinearGroup;
constexpr std::array<LinearGroup, 4> kGroups = {LinearGroup::Qkv, LinearGroup::O, LinearGroup::GateUp,
                                                LinearGroup::Down};
size_t gi(LinearGroup g) { return static_cast<size_t>(g); }

class BlockRun {
 public:
  BlockRun(const model::Model& model, int b, model::BlockWeights& w, const BlockOptions& opt,
           std::map<std::string, QuantizedLinear>& out)
      : model_(model),
        b_(b),
        w_(w),
        needs_(opt.method->needs()),
        fp_w_(needs_.cross ? clone_linears(model.context(), w) : model::BlockWeights{}),
        opt_(opt),
        out_(out),
        layers_(block_layers(w, b)) {}

  // Creates the group's accumulator on first use.
  hessian::Accumulator& acc(LinearGroup g, int64_t n) {
    auto& a = accs_[gi(g)];
    if (!a) a = std::make_unique<hessian::Accumulator>(model_.context(), n, opt_.precision, needs_.cross);
    return *a;
  }

  void accumulate(LinearGroup g, const Tensor& x, const CalibBatch& batch, const Tensor* x_fp) {
    if (all_skipped(g)) return;  // no statistics for a group kept in full precision
    Timer t;
    acc(g, x.dim(1)).add(x, batch.seq_lens, batch.row_weight, x_fp, batch.seq_alpha);  // one unit per sequence
    stats_.hessian_s += t.seconds();
  }

  // Rounds every non-skipped layer of group g and writes the dequantized
  // weights back into the block.
  void round_group(LinearGroup g) {
    std::vector<const BlockLayer*> todo;
    for (const BlockLayer& layer : layers_) {
      if (layer.group != g) continue;
      if (matches_any(layer.name, opt_.skip)) {
        stats_.layers.push_back(
            {.name = layer.name, .rows = layer.weight->dim(0), .cols = layer.weight->dim(1), .skipped = true});
        continue;
      }
      todo.push_back(&layer);
    }
    // Phase 1: this rank's share; phase 2: exchange, so that in owner mode
    // the ranks round their layers at the same time.
    const std::vector<int> owner = owners(todo);
    quant::PreparedStats prep;
    if (needs_.hessian && !todo.empty()) prep = prepare_group(g, todo, owner);
    std::vector<QuantizedLinear> mine(todo.size());
    std::vector<double> seconds(todo.size(), 0.0);
    for (size_t i = 0; i < todo.size(); ++i) {
      Timer t;
      mine[i] = round_share(*todo[i], owner[i], prep);
      seconds[i] = t.seconds();
      stats_.round_s += seconds[i];
    }
    prep = quant::PreparedStats();  // not needed for the exchange
    for (size_t i = 0; i < todo.size(); ++i) {
      const BlockLayer& layer = *todo[i];
      QuantizedLinear ql = gather(std::move(mine[i]), owner[i]);
      write_weights(model_.context(), *layer.weight, ql.dequantize());
      const LayerRecord rec{.name = layer.name, .rows = ql.rows, .cols = ql.cols, .loss = ql.loss,
                            .damp = ql.damp, .alpha = ql.alpha, .alpha_source = ql.alpha_source,
                            .alpha_star = quant::closed_form_alpha(ql), .seconds = seconds[i]};
      ql.alpha_terms.clear();
      spdlog::debug("{}: {}x{} loss {:.4g} damp {:g} in {}", layer.name, rec.rows, rec.cols, rec.loss, rec.damp,
                    format_duration(rec.seconds));
      stats_.layers.push_back(rec);
      out_[layer.name] = std::move(ql);
    }
  }

  BlockStats run(std::vector<CalibBatch>& batches) {
    Timer total;
    if (!needs_.hessian) {
      for (LinearGroup g : kGroups) round_group(g);
      forward_outputs(batches);
    } else if (batches.empty()) {
      for (LinearGroup g : kGroups) round_group(g);  // no rows here, but every collective of the group order
    } else if (batches.size() == 1 && opt_.true_sequential) {
      run_fused(batches.front());
    } else {
      run_staged(batches);
      forward_outputs(batches);
    }
    stats_.forward_s = total.seconds() - stats_.hessian_s - stats_.round_s - stats_.comm_s;
    return stats_;
  }

 private:
  // One forward per stream, in place: the full-precision one keeps its group
  // inputs; in the quantized one the capture rounds each group before the
  // forward reads its weights, so the stream leaves through the rounded block.
  void run_fused(CalibBatch& batch) {
    backend::Context& ctx = model_.context();
    const model::Model::BufferReuse reuse(model_);
    std::array<Tensor, 4> fp_inputs;
    if (batch.fp.defined()) {
      const model::CaptureFn keep = [&](int, LinearGroup g, const Tensor& x) { fp_inputs[gi(g)] = ctx.clone(x); };
      Tensor fp = batch.fp.take(ctx);
      model_.forward_block(fp_w_, b_, fp, batch.seq_lens, &keep);
      batch.fp.store(ctx, std::move(fp));
    }
    const model::CaptureFn quantize = [&](int, LinearGroup g, const Tensor& x) {
      accumulate(g, x, batch, fp_inputs[gi(g)].defined() ? &fp_inputs[gi(g)] : nullptr);
      fp_inputs[gi(g)] = Tensor();
      round_group(g);
    };
    Tensor q = batch.q.take(ctx);
    model_.forward_block(w_, b_, q, batch.seq_lens, &quantize);
    batch.q.store(ctx, std::move(q));
  }

  // Group inputs are recomputed batch by batch (bounded memory). With
  // true_sequential each group is captured after the earlier ones were
  // rounded; without it all groups are captured at once from the block as it
  // was loaded.
  void run_staged(std::vector<CalibBatch>& batches) {
    if (opt_.true_sequential) {
      for (LinearGroup g : kGroups) {
        capture(std::span<const LinearGroup>(&g, 1), batches);
        round_group(g);
      }
    } else {
      capture(kGroups, batches);
      for (LinearGroup g : kGroups) round_group(g);
    }
  }

  // Accumulates the statistics of `groups` (in forward order) over all batches.
  void capture(std::span<const LinearGroup> groups, std::vector<CalibBatch>& batches) {
    const LinearGroup last = groups.back();
    auto wanted = [&](LinearGroup g) { return std::find(groups.begin(), groups.end(), g) != groups.end(); };
    const model::Model::BufferReuse reuse(model_);
    for (CalibBatch& batch : batches) {
      std::array<Tensor, 4> fp_inputs;
      if (batch.fp.defined()) {
        const model::CaptureFn keep = [&](int, LinearGroup g, const Tensor& x) {
          if (wanted(g)) fp_inputs[gi(g)] = model_.context().clone(x);
        };
        Tensor h = batch.fp.copy(model_.context());
        model_.forward_block(fp_w_, b_, h, batch.seq_lens, &keep, last);
      }
      const model::CaptureFn add = [&](int, LinearGroup g, const Tensor& x) {
        if (!wanted(g)) return;
        accumulate(g, x, batch, fp_inputs[gi(g)].defined() ? &fp_inputs[gi(g)] : nullptr);
        fp_inputs[gi(g)] = Tensor();
      };
      Tensor h = batch.q.copy(model_.context());
      model_.forward_block(w_, b_, h, batch.seq_lens, &add, last);
    }
  }

  // Moves the streams to the block outputs: the rounded block for `q`, the
  // original one for `fp`.
  void forward_outputs(std::vector<CalibBatch>& batches) { forward_streams(model_, b_, w_, fp_w_, batches); }

  bool all_skipped(LinearGroup g) const {
    return std::all_of(layers_.begin(), layers_.end(),
                       [&](const BlockLayer& l) { return l.group != g || matches_any(l.name, opt_.skip); });
  }

  int ranks() const { return opt_.comm ? opt_.comm->size() : 1; }
  parallel::DeviceComm& device_comm() {
    if (opt_.device_comm) return *opt_.device_comm;
    if (!staged_) staged_ = parallel::make_staged_comm(*opt_.comm);
    return *staged_;
  }
  int rank() const { return opt_.comm ? opt_.comm->rank() : 0; }

  // The group's statistics, summed over the ranks and prepared for the
  // method once for all its layers, on the ranks that round some of it
  // (nothing on the others). Rows mode on the CPU with several ranks on this
  // node: prepared by the node's first rank into memory all of them map
  // (when the node's shared memory has room).
  quant::PreparedStats prepare_group(LinearGroup g, const std::vector<const BlockLayer*>& todo,
                                     const std::vector<int>& owner) {
    const quant::PrepRequest req = opt_.method->prep_request();
    const int64_t n = todo.front()->weight->dim(1);
    const std::shared_ptr<parallel::NodeShared> shared = node_window(req, n, owner.front() < 0);
    bool rounds_some = false;
    for (size_t i = 0; i < todo.size(); ++i) rounds_some |= share_of(*todo[i], owner[i]).size() > 0;
    const bool prepares = shared ? opt_.comm->local_rank() == 0 : rounds_some;
    Tensor h, d;
    finalize_statistics(g, owner, prepares, h, d);
    if (!prepares && !shared) return {};
    Timer t;
    const std::string label = todo.size() == 1 ? todo.front()->name
                                               : fmt::format("{} (group {})", todo.front()->name,
                                                             model::linear_group_name(g));
    backend::Context& ctx = model_.context();
    const quant::LayerStats ls{.h = &h, .d = d.defined() ? &d : nullptr};
    if (!shared) {
      quant::PreparedStats p = quant::prepare(ctx, req, ls, opt_.method->grid(), label);
      stats_.round_s += t.seconds();
      return p;
    }
    int k = 0;
    quant::PreparedStats p = quant::allocate_prepared(ctx, req, n, [&] {
      auto* at = static_cast<double*>(shared->data()) + static_cast<int64_t>(k++) * n * n;
      return Tensor::borrow(at, {n, n}, DType::F64, shared);
    });
    std::vector<uint8_t> note;
    if (prepares) {
      quant::prepare(ctx, req, ls, opt_.method->grid(), label, p);
      note = quant::pack_small(p);
    }
    h = Tensor();  // the other ranks wait in publish: free H first
    d = Tensor();
    shared->publish(note);
    if (!prepares) quant::unpack_small(note, p);
    stats_.node_shared_bytes = std::max(stats_.node_shared_bytes, static_cast<int64_t>(shared->size()));
    stats_.round_s += t.seconds();
    return p;
  }

  // The node-shared memory for a group's prepared matrices, when this rank
  // shares them (rows mode, node_share, the CPU, several ranks on this node);
  // nullptr otherwise. Collective over the node's ranks.
  std::shared_ptr<parallel::NodeShared> node_window(const quant::PrepRequest& req, int64_t n, bool rows) {
    if (!rows || !opt_.node_share || !opt_.comm || opt_.comm->local_size() < 2 || req.matrices() == 0 ||
        !model_.context().device().is_cpu())
      return nullptr;
    return opt_.comm->node_shared(static_cast<size_t>(req.matrices()) * static_cast<size_t>(n * n) * sizeof(double));
  }

  // Sums the group's raw statistics over the ranks and finalizes H (and D)
  // where `wanted` (the ranks that prepare the group). In owner mode a
  // group with one owner (o_proj, down_proj, or every layer on one rank) is
  // reduced to that rank alone; one with several owners, and every group in
  // rows mode, is all-reduced (a reduce per owner would add the sums a first
  // owner already holds into the next). Every rank then frees its raw sums;
  // the others never hold this group's H.
  void finalize_statistics(LinearGroup g, const std::vector<int>& owner, bool wanted, Tensor& h, Tensor& d) {
    const auto first = std::find_if(layers_.begin(), layers_.end(), [&](const BlockLayer& l) { return l.group == g; });
    hessian::Accumulator& a = acc(g, first->weight->dim(1));  // a rank without calibration rows has none yet
    std::vector<int> roots(owner.begin(), owner.end());
    std::sort(roots.begin(), roots.end());
    roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
    const bool every_rank = roots.front() < 0;  // rows mode, or one rank
    if (ranks() > 1) {  // exact integer sums: the same bits for any rank count
      Timer t;
      Tensor& words = a.tile_words();
      auto* w = words.device_data<int64_t>();
      const auto n = static_cast<size_t>(words.numel());
      if (every_rank || roots.size() > 1) {
        device_comm().allreduce_sum(model_.context(), w, n);
        opt_.comm->allreduce_sum(a.totals());
      } else {
        device_comm().reduce_sum(model_.context(), w, n, roots.front());
        opt_.comm->reduce_sum(a.totals(), roots.front());
      }
      stats_.comm_s += t.seconds();
    }
    if (wanted) {
      MACA_CHECK(a.sum_weight() > 0, "block {} group {}: no calibration rows reached this group (all row weights "
                 "are zero); check calib.n_samples and the MaCa weights", b_, model::linear_group_name(g));
      Timer t;
      h = a.finalize_h();
      if (needs_.cross) d = a.finalize_d();
      stats_.hessian_s += t.seconds();
    }
    accs_[gi(g)].reset();  // free the raw sums before rounding
  }

  // Owner of each layer in owner mode (by cost rows·cols²); -1 in row mode.
  std::vector<int> owners(const std::vector<const BlockLayer*>& todo) const {
    if (opt_.partition == Partition::Rows || ranks() == 1) return std::vector<int>(todo.size(), -1);
    std::vector<double> cost;
    for (const BlockLayer* l : todo) {
      const auto c = static_cast<double>(l->weight->dim(1));
      cost.push_back(static_cast<double>(l->weight->dim(0)) * c * c);
    }
    return parallel::assign_owners(cost, ranks());
  }

  // The rows of `layer` this rank rounds: its row slice, or the whole layer
  // when it owns it (owner >= 0), or none.
  parallel::RowRange share_of(const BlockLayer& layer, int owner) const {
    const int64_t rows = layer.weight->dim(0);
    if (owner >= 0) return owner == rank() ? parallel::RowRange{0, rows} : parallel::RowRange{};
    return parallel::split_rows(rows, ranks(), quant::kRowTile)[static_cast<size_t>(rank())];
  }

  // This rank's share of `layer`, rounded with the group's prepared statistics.
  QuantizedLinear round_share(const BlockLayer& layer, int owner, const quant::PreparedStats& prep) const {
    const parallel::RowRange r = share_of(layer, owner);
    if (r.size() == 0) return {};
    const auto prev = opt_.previous_alpha_star.find(layer.type);
    const quant::LayerSite site{
        .name = layer.name,
        .type = layer.type,
        .block = b_,
        .previous_alpha_star = prev == opt_.previous_alpha_star.end() ? std::nullopt : std::optional(prev->second)};
    backend::Context& rc = model_.context();
    const Tensor w = rc.to_host(*layer.weight);
    return opt_.method->round(rc, r.size() == w.dim(0) ? w : w.slice_rows(r.begin, r.end), prep, site);
  }

  // The whole layer on every rank.
  QuantizedLinear gather(QuantizedLinear mine, int owner) {
    if (ranks() == 1) return mine;
    Timer t;
    const std::vector<std::vector<uint8_t>> all = opt_.comm->allgather(pack_layer(mine));
    stats_.comm_s += t.seconds();
    if (owner >= 0) return unpack_layer(all[static_cast<size_t>(owner)]);
    std::vector<QuantizedLinear> slices;
    for (const auto& bytes : all) slices.push_back(unpack_layer(bytes));
    return join_row_slices(slices);
  }

  const model::Model& model_;
  int b_;
  model::BlockWeights& w_;
  const quant::Needs needs_;
  const model::BlockWeights fp_w_;  // the block as loaded, for the full-precision stream (asymmetric methods)
  const BlockOptions& opt_;
  std::map<std::string, QuantizedLinear>& out_;
  std::vector<BlockLayer> layers_;
  std::array<std::unique_ptr<hessian::Accumulator>, 4> accs_;
  std::unique_ptr<parallel::DeviceComm> staged_;  // when opt_.device_comm is not given
  BlockStats stats_;
};

}  // namespace

void write_weights(backend::Context& ctx, Tensor& weight, const std::vector<float>& values) {
  MACA_ASSERT(static_cast<int64_t>(values.size()) == weight.numel(), "write_weights: {} values for {}", values.size(),
              weight.str());
  const Tensor host = Tensor::borrow(const_cast<float*>(values.data()), weight.shape(), DType::F32, nullptr);
  const Tensor src = ctx.to_device(host);  // the host view itself on the CPU
  ctx.copy(weight.raw(), src.raw(), weight.nbytes());
}

model::BlockWeights clone_linears(backend::Context& ctx, const model::BlockWeights& w) {
  model::BlockWeights fp = w;
  for (Tensor* t : {&fp.q, &fp.k, &fp.v, &fp.o, &fp.gate, &fp.up, &fp.down}) *t = ctx.clone(*t);
  return fp;
}

std::vector<BlockLayer> block_layers(model::BlockWeights& w, int block) {
  const std::string p = fmt::format("model.layers.{}.", block);
  const auto at = [&](const char* type, LinearGroup g, Tensor* t) { return BlockLayer{p + type, type, g, t}; };
  return {at("self_attn.q_proj", LinearGroup::Qkv, &w.q),     at("self_attn.k_proj", LinearGroup::Qkv, &w.k),
          at("self_attn.v_proj", LinearGroup::Qkv, &w.v),     at("self_attn.o_proj", LinearGroup::O, &w.o),
          at("mlp.gate_proj", LinearGroup::GateUp, &w.gate), at("mlp.up_proj", LinearGroup::GateUp, &w.up),
          at("mlp.down_proj", LinearGroup::Down, &w.down)};
}

bool matches_any(const std::string& name, const std::vector<std::string>& patterns) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return fnmatch(p.c_str(), name.c_str(), 0) == 0; });
}

BlockStats quantize_block(const model::Model& model, int b, model::BlockWeights& w, std::vector<CalibBatch>& batches,
                          const BlockOptions& opt, std::map<std::string, QuantizedLinear>& out) {
  return BlockRun(model, b, w, opt, out).run(batches);
}

}  // namespace maca::pipeline
