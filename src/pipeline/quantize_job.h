// `maca quantize`: the whole single-process job (design.md, data flow).
//
//   validate every option against the model's shapes (before any work)
//   -> tokenize the calibration data, sample the calibration set
//   -> embed it; for each block: load, quantize (block_quantizer.h), advance
//   -> export the GPTQ checkpoint and the fake-quant model
//   -> evaluate the full-precision and the quantized model (optional)
//   -> run.dir/report.json
//
// Memory: one block's weights, the calibration activations (one stream, two
// for asymmetric methods) and that block's statistics; the rounded layers
// (codes, 1 byte per weight, plus scales) are kept until export.
#pragma once

#include <filesystem>

namespace maca::config {
class Config;
}

namespace maca::pipeline {

// Runs the job; returns the run directory. Throws maca::ConfigError for bad
// options before any work starts, maca::Error/FileError for failures later.
std::filesystem::path run_quantize(const config::Config& cfg);

}  // namespace maca::pipeline
