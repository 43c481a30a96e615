// Writing quantized models: a GPTQ checkpoint directory (formats.md, "GPTQ
// checkpoint"; loads in transformers, GPTQModel, vLLM and `maca eval`) and a
// fake-quant directory (the dequantized weights as a plain HF model, for
// tools that cannot read GPTQ).
//
// Both take the unquantized model as a ModelSource (an HF directory, a GGUF
// file or a GPTQ checkpoint) for config.json and every tensor that is not
// quantized, and the quantized linears from a LayerProvider by HF module name
// ("model.layers.0.self_attn.q_proj", whose weight is "<name>.weight").
// Output: model.safetensors (or shards and model.safetensors.index.json above
// max_shard_bytes), config.json, tokenizer files copied from beside the source
// (for a .gguf source its "<stem>.tokenizer.json" becomes tokenizer.json) or,
// when there is no tokenizer.json to copy, the ones the caller generated
// (TokenizerFiles: for a .gguf, written from its metadata), and for GPTQ
// quantize_config.json. Every file is written to a temporary name and
// renamed, so a crash never leaves a half-written file.
//
// Streaming: every output header follows from the source's shapes and the
// layers' LayerInfo, so it is written first; then the tensors are written one
// at a time (source tensors in source order, then each layer as the provider
// hands it over). Peak memory is about the largest tensor plus what the
// provider keeps (one block for a per-block provider), never the model.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/quantized.h"
#include "core/tensor.h"
#include "io/layer_provider.h"
#include "io/model_source.h"
#include "io/model_writer.h"

namespace maca::io {

// Tokenizer files by name ("tokenizer.json", "tokenizer_config.json", ...)
// for a source that has none beside it, e.g. a .gguf's tokenizer written out
// by tokenizer::hf_tokenizer_files. Written into an export only when no
// tokenizer.json was copied from beside the source.
using TokenizerFiles = std::map<std::string, std::string>;

struct GptqExportOptions {
  // "auto" (gptq = v1 when symmetric, gptq_v2 otherwise), "gptq" or "gptq_v2".
  std::string checkpoint_format = "auto";
  // dtype of the tensors that are not quantized and of biases: F16 or F32
  // (BF16 is written too, but GPTQ kernels expect fp16).
  // Scales are always fp16.
  DType dtype = DType::F16;
  // Recorded in quantization_config (they describe how the run quantized).
  bool true_sequential = true;
  double damp_percent = 0.01;
  // meta.quantizer = ["maca:<version>"]; empty: this build's version.
  std::string version;
  // Further keys merged into quantization_config.meta.
  nlohmann::json extra_meta = nlohmann::json::object();
  // Weights above this many bytes are split into shards.
  uint64_t max_shard_bytes = kDefaultMaxShardBytes;
  // Written when the source has no tokenizer.json beside it.
  TokenizerFiles tokenizer_files;
};

// Writes a GPTQ checkpoint of `source` with the provider's layers quantized
// into `out_dir` (created if needed; existing files of the same names are
// replaced). desc_act / static_groups are recorded when any layer uses them
// (g_idx carries the per-layer truth); lm_head is true when "lm_head" is among
// the layers. Before writing anything, throws maca::Error when a layer does
// not match its source weight, the layers do not share bits / group size /
// sym, or its shape cannot be packed (naming the layer); while writing, when a
// fetched layer differs from its LayerInfo or fails packing (codes, zero
// points, scales out of range). FileError on I/O failure.
void write_gptq_checkpoint(const ModelSource& source, LayerProvider& layers, const std::filesystem::path& out_dir,
                           const GptqExportOptions& options = {});
// The same for layers in memory (through MapLayerProvider).
void write_gptq_checkpoint(const ModelSource& source, const std::map<std::string, QuantizedLinear>& layers,
                           const std::filesystem::path& out_dir, const GptqExportOptions& options = {});

// Writes `source` with the weight of every provided layer replaced by its
// dequantized value under the original "<layer>.weight" name, every tensor in
// `dtype` (F32, F16 or BF16), and config.json without quantization_config.
// There may be no layers: a GPTQ checkpoint as source then becomes a plain
// dequantized HF model. `tokenizer_files` as GptqExportOptions::tokenizer_files.
void write_fake_quant_checkpoint(const ModelSource& source, LayerProvider& layers, const std::filesystem::path& out_dir,
                                 DType dtype = DType::F32, uint64_t max_shard_bytes = kDefaultMaxShardBytes,
                                 const TokenizerFiles& tokenizer_files = {});
// The same for layers in memory (through MapLayerProvider).
void write_fake_quant_checkpoint(const ModelSource& source, const std::map<std::string, QuantizedLinear>& layers,
                                 const std::filesystem::path& out_dir, DType dtype = DType::F32);

}  // namespace maca::io
