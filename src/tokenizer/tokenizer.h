// Text <-> token ids, identical to HF `tokenizers` for the tokenizer types the
// supported models use: byte-level BPE (GPT-2 byte map; GPT-2, LLaMA-3, Qwen2
// split patterns, Digits) and SentencePiece-style BPE (▁ for spaces, byte
// fallback), with added/special tokens matched whole before anything else.
//
// A Tokenizer is built from an HF tokenizer.json or from the tokenizer
// metadata of a GGUF file (which is converted the way transformers converts
// it, so both sources give the same ids). It is immutable after loading;
// encode/decode may be called from several threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace maca::io {
class GgufFile;
}

namespace maca::tokenizer {

struct TokenizerImpl;

class Tokenizer {
 public:
  // Loads an HF tokenizer.json. Throws FileError naming the file and the key
  // when it is malformed or uses a component maca does not implement.
  static Tokenizer from_tokenizer_json(const std::filesystem::path& path);
  // Builds the tokenizer a GGUF file describes (`tokenizer.ggml.*` metadata:
  // model "gpt2" = byte-level BPE with the split named by `tokenizer.ggml.pre`,
  // model "llama" = SentencePiece BPE, merges derived from the scores when the
  // file has none). Throws FileError naming the file and key.
  static Tokenizer from_gguf(const io::GgufFile& gguf);
  // The HF tokenizer.json of this tokenizer (hf_tokenizer_writer.cpp): every
  // component in HF's spelling, so that HF `tokenizers` and
  // from_tokenizer_json encode to the ids encode() gives.
  std::string to_tokenizer_json() const;

  // Token ids of `text`. With `add_special_tokens`, the BOS/EOS the
  // post-processor (or GGUF add_bos_token/add_eos_token) asks for are added.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // Text of `ids`; with `skip_special_tokens`, special tokens are left out.
  // Throws maca::Error for an id outside the vocabulary.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // One more than the largest id (vocabulary plus added tokens).
  int32_t vocab_size() const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The token string of `id` (in the model's spelling, e.g. "Ġthe" or "▁the").
  const std::string& id_to_token(int32_t id) const;
  std::optional<int32_t> bos_id() const;
  std::optional<int32_t> eos_id() const;
  // The ids encode(text, true) puts before and after the text's ids (the
  // post-processor's BOS/EOS).
  std::span<const int32_t> prefix_ids() const;
  std::span<const int32_t> suffix_ids() const;
  bool is_special(int32_t id) const;

 private:
  explicit Tokenizer(std::shared_ptr<const TokenizerImpl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const TokenizerImpl> impl_;
};

// The tokenizer of a model: `model_path/tokenizer.json` for a directory, the
// GGUF metadata for a .gguf file. Throws FileError saying what was looked for.
Tokenizer load_tokenizer(const std::filesystem::path& model_path);

}  // namespace maca::tokenizer
