// Quantizes one transformer block on the calibration activations and
// advances them to the next block (design.md, data flow of `maca quantize`).
//
// For every linear group (q/k/v, o, gate/up, down) the group's input is
// captured, its Hessian H (and for asymmetric methods D, from the
// full-precision stream) accumulated with the calibration row weights, and
// each layer of the group rounded. With true_sequential the groups are
// rounded in that order and each later group sees the already-quantized
// earlier ones. When all calibration tokens fit in one batch this costs one
// forward per stream (the capture rounds the group before the forward reads
// its weights); with several batches each group re-runs the batches up to its
// input, trading time for a memory bound.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/quantized.h"
#include "hessian/accumulator.h"
#include "model/model.h"
#include "pipeline/calib_batches.h"
#include "quant/quantize.h"

namespace maca::pipeline {

struct BlockOptions {
  quant::QuantOptions quant;
  bool true_sequential = true;
  hessian::Precision precision = hessian::Precision::F32;
  std::vector<std::string> skip;  // layer-name glob patterns kept in full precision
};

// One quantizable linear of a block: HF module name and its weight slot.
struct BlockLayer {
  std::string name;  // "model.layers.3.self_attn.q_proj"
  model::LinearGroup group;
  Tensor* weight;
};
std::vector<BlockLayer> block_layers(model::BlockWeights& w, int block);

// True when `name` matches one of the glob patterns (* and ?).
bool matches_any(const std::string& name, const std::vector<std::string>& patterns);

struct LayerRecord {
  std::string name;
  int64_t rows = 0, cols = 0;
  bool skipped = false;
  double loss = 0, damp = 0, alpha = 0;
  double seconds = 0;  // rounding time
};

struct BlockStats {
  double forward_s = 0, hessian_s = 0, round_s = 0;
  std::vector<LayerRecord> layers;
};

// Quantizes block `b` (weights in `w` are replaced by their dequantized
// values), appends its layers to `out` and moves every batch's streams to the
// block's outputs. An empty `batches` is allowed for RTN (no calibration).
BlockStats quantize_block(const model::Model& model, int b, model::BlockWeights& w, std::vector<CalibBatch>& batches,
                          const BlockOptions& opt, std::map<std::string, QuantizedLinear>& out);

}  // namespace maca::pipeline
