#include "tokenizer/bpe.h"

#include <fmt/format.h>

#include <algorithm>
#include <queue>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace maca::tokenizer {

namespace {
// Words longer than this are not cached (SentencePiece-style tokenizers can
// hand BPE whole lines); the cache is dropped when it holds this many words.
constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kMaxCacheEntries = 1 << 18;
}  // namespace

BpeModel::BpeModel(std::unordered_map<std::string, int32_t> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
                   const std::string& source)
    : vocab_(std::move(vocab)), byte_ids_(256, -1), options_(std::move(options)) {
  const auto id_of = [&](const std::string& token, size_t rank) {
    auto it = vocab_.find(token);
    if (it == vocab_.end())
      MACA_THROW(FileError,
                 "{}: merge {} ('{} {}') uses token '{}' that is not in the vocabulary; the tokenizer is damaged",
                 source, rank, merges[rank].first, merges[rank].second, token);
    return it->second;
  };
  const size_t prefix_len = options_.continuing_subword_prefix.size();
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const std::string merged = a + (b.starts_with(options_.continuing_subword_prefix) ? b.substr(prefix_len) : b);
    const int32_t left = id_of(a, rank), right = id_of(b, rank), result = id_of(merged, rank);
    merges_.insert_or_assign(pair_key(left, right),
                             Merge{static_cast<int32_t>(rank), result});  // repeated: last wins, as in HF
  }
  for (int b = 0; b < 256; ++b) {
    auto it = vocab_.find(fmt::format("<0x{:02X}>", b));
    if (it != vocab_.end()) byte_ids_[b] = it->second;
  }
}

std::vector<std::pair<std::string, std::string>> BpeModel::merges() const {
  std::unordered_map<int32_t, const std::string*> token_of;
  token_of.reserve(vocab_.size());
  for (const auto& [token, id] : vocab_) token_of.emplace(id, &token);
  std::vector<std::pair<int32_t, uint64_t>> by_rank;  // (rank, pair key)
  by_rank.reserve(merges_.size());
  for (const auto& [key, merge] : merges_) by_rank.emplace_back(merge.rank, key);
  std::sort(by_rank.begin(), by_rank.end());
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(by_rank.size());
  for (const auto& [rank, key] : by_rank)
    out.emplace_back(*token_of.at(static_cast<int32_t>(key >> 32)),
                     *token_of.at(static_cast<int32_t>(key & 0xFFFFFFFFu)));
  return out;
}

std::vector<int32_t> BpeModel::initial_symbols(std::string_view word) const {
  std::vector<int32_t> ids;
  bool previous_unk = false;
  std::string piece;
  for (size_t pos = 0, len = 0; pos < word.size(); pos += len) {
    decode_utf8(word, pos, len);
    piece.assign(pos > 0 ? options_.continuing_subword_prefix : std::string());
    piece.append(word.substr(pos, len));
    if (pos + len == word.size()) piece += options_.end_of_word_suffix;
    if (auto it = vocab_.find(piece); it != vocab_.end()) {
      ids.push_back(it->second);
      previous_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (size_t k = 0; k < len; ++k) all = all && byte_ids_[static_cast<uint8_t>(word[pos + k])] >= 0;
      if (all) {
        for (size_t k = 0; k < len; ++k) ids.push_back(byte_ids_[static_cast<uint8_t>(word[pos + k])]);
        previous_unk = false;
        continue;
      }
    }
    if (options_.unk_id) {  // without an unk token, unknown characters are dropped (as HF does)
      if (!(options_.fuse_unk && previous_unk)) ids.push_back(*options_.unk_id);
      previous_unk = true;
    }
  }
  return ids;
}

std::vector<int32_t> BpeModel::merge_word(std::string_view word) const {
  if (options_.ignore_merges) {
    if (auto it = vocab_.find(std::string(word)); it != vocab_.end()) return {it->second};
  }
  std::vector<int32_t> ids = initial_symbols(word);
  const int n = static_cast<int>(ids.size());
  std::vector<int> next(n), prev(n);
  for (int i = 0; i < n; ++i) next[i] = i + 1 < n ? i + 1 : -1, prev[i] = i - 1;
  std::vector<bool> alive(n, true);

  struct Candidate {
    int32_t rank;
    int pos;
    int32_t left, right, new_id;  // the pair it merges: still valid while both symbols are unchanged
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto push = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (auto it = merges_.find(pair_key(ids[pos], ids[next[pos]])); it != merges_.end())
      queue.push({it->second.rank, pos, ids[pos], ids[next[pos]], it->second.new_id});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const int pos = top.pos;
    if (!alive[pos] || next[pos] < 0 || ids[pos] != top.left || ids[next[pos]] != top.right) continue;  // stale
    const int right = next[pos];
    ids[pos] = top.new_id;
    alive[right] = false;
    next[pos] = next[right];
    if (next[pos] >= 0) prev[next[pos]] = pos;
    push(prev[pos]);
    push(pos);
  }
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i)
    if (alive[i]) out.push_back(ids[i]);
  return out;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() > kMaxCachedWordBytes) {
    const std::vector<int32_t> ids = merge_word(word);
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  std::string key(word);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids = merge_word(word);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(std::move(key), std::move(ids));
}

}  // namespace maca::tokenizer
