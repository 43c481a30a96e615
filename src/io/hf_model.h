// HF model directory as a ModelSource: config.json plus a single
// model.safetensors or shards listed in model.safetensors.index.json; tensors
// are memory-mapped and converted to fp32 one at a time on load.
#pragma once

#include <filesystem>
#include <memory>

#include "io/model_source.h"

namespace maca::io {

std::unique_ptr<ModelSource> open_hf_model(const std::filesystem::path& dir);

}  // namespace maca::io
