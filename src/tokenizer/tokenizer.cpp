#include "tokenizer/tokenizer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace maca::tokenizer {

namespace {

bool is_word_char(char32_t c) { return is_letter(c) || is_number(c) || c == '_'; }

char32_t last_codepoint(std::string_view text) {
  size_t pos = text.size();
  while (pos > 0 && (static_cast<uint8_t>(text[pos - 1]) & 0xC0) == 0x80) --pos;
  size_t len;
  return pos > 0 ? decode_utf8(text, pos - 1, len) : 0;
}

std::string normalize(const std::vector<NormalizerStep>& steps, std::string_view text) {
  std::string s(text);
  for (const NormalizerStep& step : steps) {
    if (step.kind == NormalizerStep::Kind::Replace)
      s = replace_all(s, step.pattern, step.content);
    else if (!s.empty())
      s.insert(0, step.content);
  }
  return s;
}

// Decoders work on the token list, as HF's decode_chain does.
void run_decoder(const DecoderStep& step, std::vector<std::string>& tokens) {
  using Kind = DecoderStep::Kind;
  std::vector<std::string> out;
  switch (step.kind) {
    case Kind::ByteLevel: {
      std::string bytes;
      for (const std::string& t : tokens) {
        const size_t mark = bytes.size();
        bool all_mapped = true;
        for (size_t pos = 0, len = 0; pos < t.size() && all_mapped; pos += len) {
          uint8_t b;
          all_mapped = unicode_to_byte(decode_utf8(t, pos, len), b);
          bytes += static_cast<char>(b);
        }
        if (!all_mapped) bytes.replace(mark, std::string::npos, t);  // token outside the byte alphabet: as is
      }
      out.push_back(utf8_lossy(bytes));
      break;
    }
    case Kind::Replace:
      for (std::string& t : tokens) t = replace_all(t, step.pattern, step.content);
      return;
    case Kind::ByteFallback: {
      std::string bytes;
      size_t count = 0;
      const auto flush = [&] {
        if (count == 0) return;
        if (is_valid_utf8(bytes))
          out.push_back(bytes);
        else
          for (size_t k = 0; k < count; ++k) out.push_back("\xEF\xBF\xBD");
        bytes.clear();
        count = 0;
      };
      for (std::string& t : tokens) {
        unsigned value = 0;
        const bool is_byte = t.size() == 6 && t.starts_with("<0x") && t.back() == '>' &&
                             std::all_of(t.begin() + 3, t.begin() + 5,
                                         [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }) &&
                             std::sscanf(t.c_str() + 3, "%2x", &value) == 1;
        if (is_byte) {
          bytes += static_cast<char>(value);
          ++count;
        } else {
          flush();
          out.push_back(std::move(t));
        }
      }
      flush();
      break;
    }
    case Kind::Fuse: {
      std::string joined;
      for (const std::string& t : tokens) joined += t;
      out.push_back(std::move(joined));
      break;
    }
    case Kind::Strip:
      for (std::string& t : tokens) {
        const std::string_view c = step.content;
        size_t begin = 0, end = t.size();
        for (int k = 0; k < step.start && std::string_view(t).substr(begin).starts_with(c); ++k) begin += c.size();
        for (int k = 0; k < step.stop && end >= begin + c.size() && std::string_view(t).substr(0, end).ends_with(c);
             ++k)
          end -= c.size();
        t = t.substr(begin, end - begin);
      }
      return;
    case Kind::Metaspace:  // the first token loses every replacement character, as in HF
      for (size_t i = 0; i < tokens.size(); ++i)
        tokens[i] =
            replace_all(tokens[i], step.content, i == 0 && step.prepend_scheme != PrependScheme::Never ? "" : " ");
      return;
  }
  tokens = std::move(out);
}

}  // namespace

void AddedTokenMatcher::add(const AddedToken& token) {
  if (token.content.empty()) return;
  int32_t node = 0;
  for (unsigned char b : token.content) {
    int32_t next = child(node, b);
    if (next < 0) {
      next = static_cast<int32_t>(terminal_.size());
      terminal_.push_back(-1);
      edges_.emplace((static_cast<uint64_t>(node) << 8) | b, next);
    }
    node = next;
  }
  first_byte_[static_cast<unsigned char>(token.content[0])] = true;
  if (terminal_[node] < 0) {  // the first token with this content wins
    terminal_[node] = static_cast<int32_t>(tokens_.size());
    tokens_.push_back(token);
  }
}

int32_t AddedTokenMatcher::child(int32_t node, uint8_t byte) const {
  auto it = edges_.find((static_cast<uint64_t>(node) << 8) | byte);
  return it == edges_.end() ? -1 : it->second;
}

std::vector<AddedTokenMatcher::Segment> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<Segment> out;
  size_t text_begin = 0;  // start of the text not yet emitted
  for (size_t pos = 0; pos < text.size();) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    int32_t best = -1;
    size_t best_end = pos;
    for (size_t k = pos, node = 0; k < text.size(); ++k) {
      const int32_t next = child(static_cast<int32_t>(node), static_cast<uint8_t>(text[k]));
      if (next < 0) break;
      node = next;
      if (terminal_[node] >= 0) best = terminal_[node], best_end = k + 1;
    }
    if (best < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[best];
    size_t start = pos, stop = best_end;
    pos = best_end;
    if (token.single_word) {
      size_t len;
      const bool word_before = start > 0 && is_word_char(last_codepoint(text.substr(0, start)));
      const bool word_after = stop < text.size() && is_word_char(decode_utf8(text, stop, len));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      while (start > text_begin) {
        size_t prev = start - 1, len;
        while (prev > text_begin && (static_cast<uint8_t>(text[prev]) & 0xC0) == 0x80) --prev;
        if (!is_whitespace(decode_utf8(text, prev, len))) break;
        start = prev;
      }
    }
    if (token.rstrip) {
      size_t len;
      while (stop < text.size() && is_whitespace(decode_utf8(text, stop, len))) stop += len;
      pos = stop;
    }
    if (start > text_begin) out.push_back({text_begin, start, -1});
    out.push_back({start, stop, token.id});
    text_begin = stop;
  }
  if (text_begin < text.size()) out.push_back({text_begin, text.size(), -1});
  return out;
}

void TokenizerImpl::finalize() {
  int32_t size = 0;
  for (const auto& [token, id] : model->vocab()) size = std::max(size, id + 1);
  for (const AddedToken& t : added_tokens) size = std::max(size, t.id + 1);
  id_to_token.assign(size, std::string());
  special.assign(size, false);
  for (const auto& [token, id] : model->vocab()) id_to_token[id] = token;
  for (const AddedToken& t : added_tokens) {
    id_to_token[t.id] = t.content;
    special[t.id] = t.special;
    added_to_id.emplace(t.content, t.id);
    (t.normalized ? normalized_matcher : raw_matcher).add(t);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  const TokenizerImpl& impl = *impl_;
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = impl.prefix_ids;
  std::vector<Piece> pieces;
  for (const auto& raw : impl.raw_matcher.split(text)) {
    if (raw.id >= 0) {
      ids.push_back(raw.id);
      continue;
    }
    const std::string normalized = normalize(impl.normalizer, text.substr(raw.begin, raw.end - raw.begin));
    for (const auto& seg : impl.normalized_matcher.split(normalized)) {
      if (seg.id >= 0) {
        ids.push_back(seg.id);
        continue;
      }
      pieces.assign(1, Piece{normalized.substr(seg.begin, seg.end - seg.begin), raw.begin == 0 && seg.begin == 0});
      for (const PreTokenizerStep& step : impl.pre_tokenizer) pre_tokenize(step, pieces);
      for (const Piece& piece : pieces) impl.model->encode_word(piece.text, ids);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), impl.suffix_ids.begin(), impl.suffix_ids.end());
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const TokenizerImpl& impl = *impl_;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const std::string& token = id_to_token(id);  // throws for an id outside the vocabulary
    if (skip_special_tokens && impl.special[id]) continue;
    tokens.push_back(token);
  }
  if (!impl.decoder) return fmt::format("{}", fmt::join(tokens, " "));
  for (const DecoderStep& step : *impl.decoder) run_decoder(step, tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(impl_->id_to_token.size()); }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  const std::string key(token);
  if (auto it = impl_->added_to_id.find(key); it != impl_->added_to_id.end()) return it->second;
  if (auto it = impl_->model->vocab().find(key); it != impl_->model->vocab().end()) return it->second;
  return std::nullopt;
}

const std::string& Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    MACA_THROW(Error, "token id {} is outside the vocabulary of {} (size {})", id, impl_->source, vocab_size());
  return impl_->id_to_token[id];
}

std::optional<int32_t> Tokenizer::bos_id() const { return impl_->bos_id; }
std::optional<int32_t> Tokenizer::eos_id() const { return impl_->eos_id; }
std::span<const int32_t> Tokenizer::prefix_ids() const { return impl_->prefix_ids; }
std::span<const int32_t> Tokenizer::suffix_ids() const { return impl_->suffix_ids; }
bool Tokenizer::is_special(int32_t id) const { return id >= 0 && id < vocab_size() && impl_->special[id]; }

Tokenizer load_tokenizer(const std::filesystem::path& model_path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(model_path)) {
    const fs::path json = model_path / "tokenizer.json";
    if (!fs::exists(json))
      MACA_THROW(FileError, "{}: no tokenizer.json in this model directory; maca needs the HF fast-tokenizer file",
                 model_path.string());
    return Tokenizer::from_tokenizer_json(json);
  }
  if (model_path.extension() == ".gguf") return Tokenizer::from_gguf(*io::GgufFile::open(model_path));
  if (model_path.filename() == "tokenizer.json") return Tokenizer::from_tokenizer_json(model_path);
  MACA_THROW(FileError, "{}: not a model directory, a .gguf file or a tokenizer.json; cannot load a tokenizer from it",
             model_path.string());
}

}  // namespace maca::tokenizer
