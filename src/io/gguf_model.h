// GGUF file as a ModelSource: maps GGUF tensor names and hyperparameters to
// the HF layout (llama, qwen2, qwen3, gemma3), undoes llama.cpp's Q/K row
// permutation for llama-architecture files, dequantizes tensors on load.
#pragma once

#include <filesystem>
#include <memory>

#include "io/model_source.h"

namespace maca::io {

std::unique_ptr<ModelSource> open_gguf_model(const std::filesystem::path& path);

}  // namespace maca::io
