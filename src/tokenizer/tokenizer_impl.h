// Internal: the parts of a Tokenizer, filled by the two loaders
// (tokenizer_json.cpp, gguf_tokenizer.cpp) and run by tokenizer.cpp. Each
// part mirrors the HF `tokenizers` component of the same name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/bpe.h"
#include "tokenizer/pre_tokenizer.h"

namespace maca::tokenizer {

struct NormalizerStep {
  enum class Kind { Replace, Prepend };
  Kind kind = Kind::Replace;
  std::string pattern;  // Replace: the literal to replace
  std::string content;  // Replace: the replacement; Prepend: the prefix
};

struct DecoderStep {
  enum class Kind { ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace };
  Kind kind = Kind::ByteLevel;
  std::string pattern;      // Replace
  std::string content;      // Replace: replacement; Strip: the character; Metaspace: the replacement
  int start = 0, stop = 0;  // Strip: characters removed at the start / end of each token
  PrependScheme prepend_scheme = PrependScheme::Always;  // Metaspace
};

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool normalized = false;  // matched in the normalized text instead of the input
  bool lstrip = false, rstrip = false, single_word = false;
};

// Leftmost-longest matching of a set of added tokens (HF AddedVocabulary).
class AddedTokenMatcher {
 public:
  struct Segment {
    size_t begin, end;
    int32_t id;  // -1: plain text to tokenize
  };
  void add(const AddedToken& token);
  // Cuts `text` into added tokens and the text between them (non-empty).
  std::vector<Segment> split(std::string_view text) const;

 private:
  int32_t child(int32_t node, uint8_t byte) const;
  std::unordered_map<uint64_t, int32_t> edges_;  // (node << 8 | byte) -> node
  std::vector<int32_t> terminal_{-1};            // node -> index into tokens_, or -1
  std::vector<AddedToken> tokens_;
  bool first_byte_[256] = {};
};

struct TokenizerImpl {
  std::string source;  // file the tokenizer came from, for messages
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  std::unique_ptr<BpeModel> model;
  std::vector<AddedToken> added_tokens;
  std::vector<int32_t> prefix_ids, suffix_ids;      // post-processor, with add_special_tokens
  std::optional<std::vector<DecoderStep>> decoder;  // none: tokens joined by spaces
  std::optional<int32_t> bos_id, eos_id;

  // Derived by finalize().
  std::vector<std::string> id_to_token;
  std::vector<bool> special;
  std::unordered_map<std::string, int32_t> added_to_id;
  AddedTokenMatcher raw_matcher, normalized_matcher;

  // Builds the derived tables once the parts above are set.
  void finalize();
};

}  // namespace maca::tokenizer
