// ModelSource: a model on disk seen as an HF-layout tensor store.
//
// Both an HF directory (config.json + single or sharded safetensors) and a
// GGUF file (dequantized on load, names and hyperparameters mapped to the HF
// layout, llama Q/K rows un-permuted) present the same view: an HF-style
// config.json and tensors by their HF names, loaded one at a time on demand as
// fp32 host tensors. Nothing is read until a tensor is asked for, so callers
// can stream a model block by block.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/tensor.h"

namespace maca::io {

class ModelSource {
 public:
  virtual ~ModelSource() = default;

  // The HF config.json content (for GGUF: synthesized from the metadata).
  virtual const nlohmann::json& config() const = 0;
  // All tensor names, HF naming ("model.layers.0.self_attn.q_proj.weight").
  virtual std::vector<std::string> tensor_names() const = 0;
  virtual bool has_tensor(const std::string& name) const = 0;
  // Shape in HF layout (nn.Linear weights are [out, in]). Throws FileError for
  // a missing tensor, naming the model path and the tensor.
  virtual Shape tensor_shape(const std::string& name) const = 0;
  // The tensor as a fp32 host tensor in HF layout. Throws FileError naming the
  // file and tensor on a missing or damaged tensor.
  virtual Tensor load(const std::string& name) const = 0;
  // Human-readable location (directory or file) for messages.
  virtual std::string location() const = 0;
  // Every file the model consists of (for fingerprints and provenance).
  virtual std::vector<std::filesystem::path> files() const = 0;
};

// Opens a model: a directory holding config.json and *.safetensors (a GPTQ
// checkpoint among them, dequantized on load: io/gptq_model.h), or a .gguf
// file. Throws FileError saying what was expected when neither fits.
std::unique_ptr<ModelSource> open_model(const std::filesystem::path& path);

}  // namespace maca::io
