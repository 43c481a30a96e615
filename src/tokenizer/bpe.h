// The BPE model of HF `tokenizers` (models::bpe::BPE without dropout): a word
// starts as one symbol per character (unknown characters become <0xXX> byte
// tokens when byte_fallback is on, else the unk token), then the adjacent pair
// with the lowest merge rank is merged, leftmost first, until no pair merges.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace maca::tokenizer {

struct BpeOptions {
  bool byte_fallback = false;  // unknown characters -> <0xXX> tokens
  bool fuse_unk = false;       // consecutive unknown characters -> one unk
  bool ignore_merges = false;  // a word that is a token is taken whole
  std::optional<int32_t> unk_id;
  std::string continuing_subword_prefix;  // prepended to non-initial characters
  std::string end_of_word_suffix;         // appended to the last character
};

class BpeModel {
 public:
  // `vocab` maps every token to its id; `merges` in rank order (best first).
  // Throws FileError mentioning `source` when a merge names a token that is
  // not in the vocabulary.
  BpeModel(std::unordered_map<std::string, int32_t> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
           const std::string& source);

  // Appends the ids of one pre-tokenized word to `out`. Thread-safe.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }
  const BpeOptions& options() const { return options_; }
  // The merges that take effect, best first, as token pairs: the constructor's
  // list without the repeats that a later merge of the same pair overrides.
  // Ranks are relative, so a BpeModel built from these encodes identically.
  std::vector<std::pair<std::string, std::string>> merges() const;

 private:
  struct Merge {
    int32_t rank, new_id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  std::vector<int32_t> initial_symbols(std::string_view word) const;
  std::vector<int32_t> merge_word(std::string_view word) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::vector<int32_t> byte_ids_;  // id of <0xXX> per byte, -1 when absent
  BpeOptions options_;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace maca::tokenizer
