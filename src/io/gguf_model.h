// GGUF file as a ModelSource: maps GGUF tensor names and hyperparameters to
// the HF layout (llama, qwen2, qwen3, gemma3), undoes llama.cpp's Q/K row
// permutation for llama-architecture files, dequantizes tensors on load.
//
// What llama.cpp's convert_hf_to_gguf.py changes, and how it is undone here:
//  - llama arch only: q_proj/k_proj rows are permuted for llama.cpp's RoPE
//    layout by permute(w, n_head, n_kv): rows viewed as (heads, 2, dim/2)
//    with the last two axes swapped. unpermute_llama_qk() is the inverse (the
//    same as transformers' GGUF loader). qwen2/qwen3/gemma3 are not permuted.
//  - gemma3: every RMSNorm weight (input/post-attention/pre- and
//    post-feedforward, q_norm/k_norm, final norm) is stored as 1 + w, because
//    llama.cpp computes x*w while HF's Gemma3RMSNorm computes x*(1 + w). On
//    load we return w = stored - 1 (fp32 subtraction), the HF convention.
//  - llama3 rope scaling is stored as a `rope_freqs.weight` tensor of
//    per-frequency factors; the config gets rope_scaling back from it (the
//    standard low/high frequency factors 1 and 4 and an original context of
//    8192 are assumed and checked against the tensor).
#pragma once

#include <filesystem>
#include <memory>

#include "io/model_source.h"

namespace maca::io {

std::unique_ptr<ModelSource> open_gguf_model(const std::filesystem::path& path);

// Inverse of llama.cpp's permute(w, n_head, n_head_kv) for a q_proj (n_head =
// attention heads) or k_proj (n_head = KV heads) weight [rows, cols], rows a
// multiple of 2 * n_head. Returns a new fp32 tensor in HF row order.
Tensor unpermute_llama_qk(const Tensor& w, int64_t n_head);

}  // namespace maca::io
