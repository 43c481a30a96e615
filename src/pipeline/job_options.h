// Options of `maca quantize` read from a resolved Config and checked against
// the model, so that a bad value (bits 5, a group size that does not divide a
// layer, an unknown sampler, a missing data file, a layer the GPTQ packing
// cannot hold) is reported before any work starts.
#pragma once

#include <filesystem>
#include <string>

#include "calib/sampler.h"
#include "config/config.h"
#include "model/spec.h"
#include "pipeline/block_quantizer.h"
#include "pipeline/stream_store.h"

namespace maca::pipeline {

struct JobOptions {
  BlockOptions block;
  calib::SamplerOptions sampler;
  std::filesystem::path calib_data;  // empty for RTN (no calibration)
  std::string calib_format;
  int64_t batch_tokens = 0;
  double max_resident_gb = 0;  // calib.max_resident_gb; 0: no limit
  StreamForm overflow = StreamForm::Spill;
  std::filesystem::path run_dir;
  bool resume = true;
  bool export_gptq = true, export_fake_quant = true;
  bool eval_fp = true, eval_quantized = true;
};

// `cfg` with the values that follow from the model filled in. So far one:
// quant.group_size left at its default (128) when 128 does not divide every
// layer's input size and quant.partial_groups is off becomes the largest of 64
// and 32 that does, with an info line naming `model_name` and the size; the
// value's source then says so, and config.resolved.yaml records it. A group
// size given explicitly (YAML, --set, --group-size) is never changed:
// read_job_options rejects one that does not divide.
config::Config resolve_for_model(const config::Config& cfg, const model::ModelSpec& spec,
                                 const std::string& model_name);

// Throws maca::ConfigError naming the key.
JobOptions read_job_options(const config::Config& cfg, const model::ModelSpec& spec);

// Linear shapes [rows, cols] of one block, by HF module suffix ("self_attn.q_proj").
std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> linear_shapes(const model::ModelSpec& spec);

}  // namespace maca::pipeline
