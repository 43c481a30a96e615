// Tokenizer::from_gguf: builds the tokenizer a GGUF file describes from its
// `tokenizer.ggml.*` metadata, the way transformers converts a GGUF
// (integrations/gguf/gguf_tokenizer_mapping.py), so that ids match the HF
// tokenizer built from the same file:
//  - model "gpt2": byte-level BPE; tokens outside the byte alphabet are
//    respelled through it; the split comes from `tokenizer.ggml.pre`.
//  - model "llama": SentencePiece BPE with byte fallback. Without merges in
//    the file, merges are derived from the vocabulary: every split of a token
//    into two tokens, ranked by the token's score (for Gemma by its position,
//    since Gemma's scores do not follow its merge order).
// One deliberate difference: for `pre` = "smollm"/"starcoder" transformers
// uses the plain GPT-2 split, but the original tokenizers (and llama.cpp)
// split digits individually first; maca follows the originals.
#include <algorithm>
#include <set>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/unicode.h"

namespace maca::tokenizer {

namespace {

constexpr int64_t kTokenTypeControl = 3;
constexpr int64_t kTokenTypeUserDefined = 4;
const std::string kSpace = "\xE2\x96\x81";  // ▁

std::vector<std::string_view> codepoints(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t pos = 0, len = 0; pos < s.size(); pos += len) {
    decode_utf8(s, pos, len);
    out.push_back(s.substr(pos, len));
  }
  return out;
}

DecoderStep decoder_step(DecoderStep::Kind kind, std::string pattern = "", std::string content = "", int start = 0) {
  DecoderStep step;
  step.kind = kind;
  step.pattern = std::move(pattern);
  step.content = std::move(content);
  step.start = start;
  return step;
}

bool in_byte_alphabet(std::string_view token) {
  uint8_t b;
  for (size_t pos = 0, len = 0; pos < token.size(); pos += len)
    if (!unicode_to_byte(decode_utf8(token, pos, len), b)) return false;
  return true;
}

std::string byte_level_spelling(std::string_view token) {
  std::string out;
  for (unsigned char b : token) append_utf8(byte_to_unicode()[b], out);
  return out;
}

// transformers' generate_merges(vocab, vocab_scores): every split of every
// token into two vocabulary tokens, best score first; ties by longer left
// then longer right piece, then by the pieces' ids.
std::vector<std::pair<std::string, std::string>> merges_from_scores(
    const std::vector<std::string>& tokens, const std::unordered_map<std::string, int32_t>& vocab,
    const std::vector<double>& scores) {
  struct Candidate {
    std::string_view left, right;
    double score;
    size_t left_len, right_len;
  };
  std::vector<Candidate> all;
  std::set<std::string_view> seen;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (!seen.insert(token).second) continue;  // a repeated token counts once (a Python dict)
    const double score = scores[vocab.at(token)];
    const std::vector<std::string_view> cps = codepoints(token);
    std::vector<Candidate> local;
    size_t split = 0;
    for (size_t k = 1; k < cps.size(); ++k) {
      split += cps[k - 1].size();
      const std::string_view left = std::string_view(token).substr(0, split),
                             right = std::string_view(token).substr(split);
      if (vocab.count(std::string(left)) && vocab.count(std::string(right)))
        local.push_back({left, right, score, k, cps.size() - k});
    }
    std::sort(local.begin(), local.end(), [&](const Candidate& a, const Candidate& b) {
      const auto ia = std::pair(vocab.at(std::string(a.left)), vocab.at(std::string(a.right)));
      const auto ib = std::pair(vocab.at(std::string(b.left)), vocab.at(std::string(b.right)));
      return ia < ib;
    });
    all.insert(all.end(), local.begin(), local.end());
  }
  std::stable_sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.score, a.left_len, a.right_len) > std::tie(b.score, b.left_len, b.right_len);
  });
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(all.size());
  for (const Candidate& c : all) merges.emplace_back(c.left, c.right);
  return merges;
}

std::vector<std::pair<std::string, std::string>> merges_from_file(const io::GgufFile& gguf) {
  std::vector<std::pair<std::string, std::string>> merges;
  for (const std::string& line : gguf.get_string_array("tokenizer.ggml.merges")) {
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
      MACA_THROW(FileError, "{}: key 'tokenizer.ggml.merges': merge '{}' is not two tokens separated by one space",
                 gguf.path().string(), line);
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  return merges;
}

// The pre-tokenizer `tokenizer.ggml.pre` names for a byte-level vocabulary.
std::vector<PreTokenizerStep> byte_level_pre_tokenizer(const io::GgufFile& gguf) {
  const std::string pre = gguf.find("tokenizer.ggml.pre") ? gguf.get_string("tokenizer.ggml.pre") : "default";
  static const std::set<std::string> kLlama3 = {"llama3",  "llama-v3", "llama-bpe", "falcon3", "falcon-h1",
                                                "pixtral", "midm-2.0", "lfm2",      "dbrx",    "smaug-bpe"};
  static const std::set<std::string> kQwen2 = {"qwen2", "deepseek-r1-qwen", "megrez"};
  static const std::set<std::string> kDigitsGpt2 = {"smollm", "starcoder", "refact", "codeshell"};
  PreTokenizerStep byte_level;  // ByteLevel, no prefix space
  if (pre == "default" || pre == "gpt2") return {byte_level};
  if (kDigitsGpt2.count(pre)) {
    PreTokenizerStep digits;
    digits.kind = PreTokenizerStep::Kind::Digits;
    digits.individual_digits = true;
    return {digits, byte_level};
  }
  PreTokenizerStep split;
  split.kind = PreTokenizerStep::Kind::Split;
  if (kLlama3.count(pre))
    split.regex = SplitRegex::Llama3;
  else if (kQwen2.count(pre))
    split.regex = SplitRegex::Qwen2;
  else
    MACA_THROW(FileError,
               "{}: key 'tokenizer.ggml.pre': pre-tokenizer '{}' is not supported (maca knows default, gpt2, "
               "smollm, starcoder, llama-bpe/llama3, qwen2 and their aliases)",
               gguf.path().string(), pre);
  byte_level.use_regex = false;
  return {split, byte_level};
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const io::GgufFile& gguf) {
  auto impl = std::make_shared<TokenizerImpl>();
  impl->source = gguf.path().string();
  const std::string model = gguf.get_string("tokenizer.ggml.model");
  const std::string arch = gguf.find("general.architecture") ? gguf.get_string("general.architecture") : "";
  std::vector<std::string> tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  std::vector<int64_t> types;
  if (gguf.find("tokenizer.ggml.token_type")) {
    types = gguf.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != tokens.size())
      MACA_THROW(FileError, "{}: key 'tokenizer.ggml.token_type' has {} entries for {} tokens", impl->source,
                 types.size(), tokens.size());
  }
  const auto flag = [&](const std::string& key, bool fallback) {
    return gguf.find(key) ? gguf.get_bool(key) : fallback;
  };
  const bool is_gemma = arch == "gemma" || arch == "gemma2" || arch == "gemma3";
  const std::vector<std::string> original = tokens;

  BpeOptions options;
  std::vector<std::pair<std::string, std::string>> merges;
  std::unordered_map<std::string, int32_t> vocab;
  const auto build_vocab = [&] {
    vocab.reserve(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) vocab.insert_or_assign(tokens[i], static_cast<int32_t>(i));
  };
  using DKind = DecoderStep::Kind;
  if (model == "gpt2") {
    for (std::string& t : tokens)
      if (!in_byte_alphabet(t)) t = byte_level_spelling(t);
    build_vocab();
    merges = merges_from_file(gguf);
    impl->pre_tokenizer = byte_level_pre_tokenizer(gguf);
    impl->decoder = std::vector<DecoderStep>{decoder_step(DKind::ByteLevel)};
  } else if (model == "llama") {
    if (is_gemma) {  // Gemma stores whitespace tokens with real spaces; its text has ▁
      for (std::string& t : tokens) {
        const auto cps = codepoints(t);
        const bool all_space = !cps.empty() && std::all_of(cps.begin(), cps.end(), [](std::string_view c) {
          size_t len;
          return is_whitespace(decode_utf8(c, 0, len));
        });
        if (all_space && t.find(' ') != std::string::npos) {
          t.clear();
          for (size_t k = 0; k < cps.size(); ++k) t += kSpace;
        }
      }
    }
    build_vocab();
    if (gguf.find("tokenizer.ggml.merges")) {
      merges = merges_from_file(gguf);
    } else {
      std::vector<double> scores(tokens.size());
      if (is_gemma) {
        for (size_t i = 0; i < tokens.size(); ++i) scores[i] = -static_cast<double>(i);
      } else {
        scores = gguf.get_float_array("tokenizer.ggml.scores");
        if (scores.size() != tokens.size())
          MACA_THROW(FileError, "{}: key 'tokenizer.ggml.scores' has {} entries for {} tokens", impl->source,
                     scores.size(), tokens.size());
      }
      merges = merges_from_scores(tokens, vocab, scores);
    }
    options.byte_fallback = true;
    options.fuse_unk = true;
    if (gguf.find("tokenizer.ggml.unknown_token_id"))
      options.unk_id = static_cast<int32_t>(gguf.get_int("tokenizer.ggml.unknown_token_id"));
    const bool prefix_space = flag("tokenizer.ggml.add_space_prefix", true);
    std::vector<DecoderStep> decoder = {decoder_step(DKind::Replace, kSpace, " "), decoder_step(DKind::ByteFallback),
                                        decoder_step(DKind::Fuse)};
    if (is_gemma) {
      impl->normalizer = {{NormalizerStep::Kind::Replace, " ", kSpace}};
      PreTokenizerStep split;
      split.kind = PreTokenizerStep::Kind::Split;
      split.literal = " ";
      split.behavior = SplitBehavior::MergedWithPrevious;
      impl->pre_tokenizer = {split};
    } else {
      PreTokenizerStep metaspace;
      metaspace.kind = PreTokenizerStep::Kind::Metaspace;
      metaspace.replacement = kSpace;
      metaspace.prepend_scheme = prefix_space ? PrependScheme::First : PrependScheme::Never;
      metaspace.split = false;
      impl->pre_tokenizer = {metaspace};
      if (prefix_space) decoder.push_back(decoder_step(DKind::Strip, "", " ", 1));
    }
    impl->decoder = std::move(decoder);
  } else {
    MACA_THROW(FileError,
               "{}: key 'tokenizer.ggml.model': tokenizer model '{}' is not supported (maca implements gpt2 "
               "and llama)",
               impl->source, model);
  }
  impl->model =
      std::make_unique<BpeModel>(std::move(vocab), merges, std::move(options), impl->source + ": GGUF tokenizer");
  const auto& final_vocab = impl->model->vocab();

  // Control tokens become special added tokens, user-defined ones plain added
  // tokens; both are matched whole in the input.
  for (size_t i = 0; i < types.size(); ++i) {
    const std::string& token = original[i];
    if (types[i] == kTokenTypeControl && (model != "gpt2" || in_byte_alphabet(token))) {
      auto it = final_vocab.find(token);
      impl->added_tokens.push_back({token, it != final_vocab.end() ? it->second : static_cast<int32_t>(i), true});
    }
  }
  for (size_t i = 0; i < types.size(); ++i) {
    const std::string& token = original[i];
    if (types[i] == kTokenTypeUserDefined)
      if (auto it = final_vocab.find(token); it != final_vocab.end())
        impl->added_tokens.push_back({token, it->second, false});
  }

  const auto token_id = [&](const std::string& key) -> std::optional<int32_t> {
    if (!gguf.find(key)) return std::nullopt;
    const int64_t id = gguf.get_int(key);
    if (id < 0 || id >= static_cast<int64_t>(tokens.size()))
      MACA_THROW(FileError, "{}: key '{}': token id {} is outside the vocabulary of {} tokens", impl->source, key, id,
                 tokens.size());
    return static_cast<int32_t>(id);
  };
  impl->bos_id = token_id("tokenizer.ggml.bos_token_id");
  impl->eos_id = token_id("tokenizer.ggml.eos_token_id");
  if (flag("tokenizer.ggml.add_bos_token", model == "llama") && impl->bos_id) impl->prefix_ids = {*impl->bos_id};
  if (flag("tokenizer.ggml.add_eos_token", false) && impl->eos_id) impl->suffix_ids = {*impl->eos_id};
  impl->finalize();
  return Tokenizer(std::move(impl));
}

}  // namespace maca::tokenizer
