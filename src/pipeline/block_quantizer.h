// Quantizes one transformer block on the calibration activations and
// advances them to the next block (design.md, data flow of `maca quantize`).
//
// For every linear group (q/k/v, o, gate/up, down) the group's input is
// captured, the statistics the method asks for (quant::Needs: H, and D from
// the full-precision stream, with per-sequence α_s where it samples them)
// accumulated with the calibration row weights, and each layer of the group
// rounded by the method. With true_sequential the groups are
// rounded in that order and each later group sees the already-quantized
// earlier ones. When all calibration tokens fit in one batch this costs one
// forward per stream (the capture rounds the group before the forward reads
// its weights); with several batches each group re-runs the batches up to its
// input, trading time for a memory bound.
//
// With several ranks (opt.comm), each rank forwards its own calibration
// sequences; the group's raw sums are all-reduced (or reduced to a group's
// one owner) before H is finalized, so the ranks that prepare the group hold
// the same H. Rounding is then split: by rows (every rank
// rounds a contiguous row slice of every layer; slices are all-gathered) or by
// owner (whole layers per rank, balanced by cost, then all-gathered). In rows
// mode the ranks of a node share one copy of each group's prepared
// statistics (factors, D: BlockOptions::node_share). Every
// rank ends the block with the same quantized weights. The collective calls
// follow the group order only, so a rank without calibration rows still takes
// part.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/quantized.h"
#include "parallel/comm.h"
#include "parallel/device_comm.h"
#include "hessian/accumulator.h"
#include "model/model.h"
#include "pipeline/calib_batches.h"
#include "quant/method.h"

namespace maca::pipeline {

// How the rounding of a group is divided between ranks.
enum class Partition { Rows, Owner };

struct BlockOptions {
  std::shared_ptr<const quant::Method> method;
  parallel::Comm* comm = nullptr;  // nullptr: this process alone
  // Collectives on the model's device (NCCL between GPUs); nullptr: the
  // host Comm's, staged through host memory.
  parallel::DeviceComm* device_comm = nullptr;
  Partition partition = Partition::Rows;
  // Rows mode on the CPU with several ranks on a node: the node's first rank
  // prepares each group's statistics (quant::PreparedStats) into memory the
  // node's ranks share, instead of every rank holding its own copy.
  bool node_share = true;
  bool true_sequential = true;
  hessian::Precision precision = hessian::Precision::F32;
  std::vector<std::string> skip;  // layer-name glob patterns kept in full precision
  // α* of the previous block's layers by type ("self_attn.q_proj"), for
  // methods with a one-block lag (LayerSite::previous_alpha_star).
  std::map<std::string, double> previous_alpha_star;
};

// One quantizable linear of a block: HF module name and its weight slot.
struct BlockLayer {
  std::string name;  // "model.layers.3.self_attn.q_proj"
  std::string type;  // "self_attn.q_proj"
  model::LinearGroup group;
  Tensor* weight;
};
std::vector<BlockLayer> block_layers(model::BlockWeights& w, int block);

// A copy of the linear weights, so the full-precision stream keeps running on
// the original block while `w` is overwritten with quantized values.
model::BlockWeights clone_linears(backend::Context& ctx, const model::BlockWeights& w);

// Overwrites a weight on ctx's device with `values` (host, row-major), in
// place: its storage stays the one the block loaded.
void write_weights(backend::Context& ctx, Tensor& weight, const std::vector<float>& values);

// True when `name` matches one of the glob patterns (* and ?).
bool matches_any(const std::string& name, const std::vector<std::string>& patterns);

struct LayerRecord {
  std::string name;
  int64_t rows = 0, cols = 0;
  bool skipped = false;
  double loss = 0, damp = 0, alpha = 0;
  std::string alpha_source{};          // where alpha came from (SNRQ), empty otherwise
  std::optional<double> alpha_star{};  // the closed-form α* of the rounded layer (SNRQ), if computed
  double seconds = 0;  // rounding time
};

struct BlockStats {
  double forward_s = 0, hessian_s = 0, round_s = 0;
  double comm_s = 0;  // all-reduce of the statistics and all-gather of the rounded layers
  int64_t node_shared_bytes = 0;  // the largest node-shared copy of a group's prepared statistics
  std::vector<LayerRecord> layers;
};

// Quantizes block `b` (weights in `w` are replaced by their dequantized
// values), appends its layers to `out` and moves every batch's streams to the
// block's outputs. An empty `batches` is allowed for RTN (no calibration).
BlockStats quantize_block(const model::Model& model, int b, model::BlockWeights& w, std::vector<CalibBatch>& batches,
                          const BlockOptions& opt, std::map<std::string, QuantizedLinear>& out);

}  // namespace maca::pipeline
