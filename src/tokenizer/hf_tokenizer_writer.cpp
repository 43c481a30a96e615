// Tokenizer::to_tokenizer_json and hf_tokenizer_files: each TokenizerImpl part
// in the spelling of the HF `tokenizers` component it mirrors (tokenizer.json
// format 1.0, merges as token pairs, which tokens containing spaces need).
#include "tokenizer/hf_tokenizer_writer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace maca::tokenizer {

namespace {

using ojson = nlohmann::ordered_json;

ojson string_pattern(const std::string& literal) { return {{"String", literal}}; }

// A single component, or a Sequence of them under `list_key`; null when there is none.
ojson component(std::vector<ojson> steps, const char* list_key) {
  if (steps.empty()) return nullptr;
  if (steps.size() == 1) return std::move(steps.front());
  return {{"type", "Sequence"}, {list_key, std::move(steps)}};
}

const char* prepend_scheme_name(PrependScheme scheme) {
  switch (scheme) {
    case PrependScheme::Always:
      return "always";
    case PrependScheme::First:
      return "first";
    case PrependScheme::Never:
      return "never";
  }
  return "always";
}

ojson normalizer_json(const std::vector<NormalizerStep>& steps) {
  std::vector<ojson> out;
  for (const NormalizerStep& s : steps) {
    if (s.kind == NormalizerStep::Kind::Replace)
      out.push_back({{"type", "Replace"}, {"pattern", string_pattern(s.pattern)}, {"content", s.content}});
    else
      out.push_back({{"type", "Prepend"}, {"prepend", s.content}});
  }
  return component(std::move(out), "normalizers");
}

ojson pre_tokenizer_json(const std::vector<PreTokenizerStep>& steps) {
  using Kind = PreTokenizerStep::Kind;
  std::vector<ojson> out;
  for (const PreTokenizerStep& s : steps) {
    switch (s.kind) {
      case Kind::ByteLevel:
        out.push_back({{"type", "ByteLevel"},
                       {"add_prefix_space", s.add_prefix_space},
                       {"trim_offsets", true},
                       {"use_regex", s.use_regex}});
        break;
      case Kind::Digits:
        out.push_back({{"type", "Digits"}, {"individual_digits", s.individual_digits}});
        break;
      case Kind::Split: {
        const ojson pattern =
            s.regex ? ojson{{"Regex", std::string(split_regex_pattern(*s.regex))}} : string_pattern(s.literal);
        out.push_back({{"type", "Split"},
                       {"pattern", pattern},
                       {"behavior", std::string(split_behavior_name(s.behavior))},
                       {"invert", false}});
        break;
      }
      case Kind::Metaspace:
        out.push_back({{"type", "Metaspace"},
                       {"replacement", s.replacement},
                       {"prepend_scheme", prepend_scheme_name(s.prepend_scheme)},
                       {"split", s.split}});
        break;
    }
  }
  return component(std::move(out), "pretokenizers");
}

ojson decoder_json(const std::optional<std::vector<DecoderStep>>& steps) {
  if (!steps) return nullptr;
  using Kind = DecoderStep::Kind;
  std::vector<ojson> out;
  for (const DecoderStep& s : *steps) {
    switch (s.kind) {
      case Kind::ByteLevel:
        out.push_back({{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}});
        break;
      case Kind::Replace:
        out.push_back({{"type", "Replace"}, {"pattern", string_pattern(s.pattern)}, {"content", s.content}});
        break;
      case Kind::ByteFallback:
        out.push_back({{"type", "ByteFallback"}});
        break;
      case Kind::Fuse:
        out.push_back({{"type", "Fuse"}});
        break;
      case Kind::Strip:
        out.push_back({{"type", "Strip"}, {"content", s.content}, {"start", s.start}, {"stop", s.stop}});
        break;
      case Kind::Metaspace:
        out.push_back({{"type", "Metaspace"},
                       {"replacement", s.content},
                       {"prepend_scheme", prepend_scheme_name(s.prepend_scheme)},
                       {"split", true}});
        break;
    }
  }
  if (out.empty()) return {{"type", "Sequence"}, {"decoders", ojson::array()}};
  return component(std::move(out), "decoders");
}

// TemplateProcessing that adds the prefix/suffix ids around each sequence.
ojson post_processor_json(const TokenizerImpl& impl) {
  if (impl.prefix_ids.empty() && impl.suffix_ids.empty()) return nullptr;
  ojson special_tokens = ojson::object();
  const auto item = [&](int32_t id, int type_id) {
    const std::string& token = impl.id_to_token[id];
    special_tokens[token] = {{"id", token}, {"ids", {id}}, {"tokens", {token}}};
    return ojson{{"SpecialToken", {{"id", token}, {"type_id", type_id}}}};
  };
  const auto sequence = [&](const char* name, int type_id) {
    ojson out = ojson::array();
    for (int32_t id : impl.prefix_ids) out.push_back(item(id, type_id));
    out.push_back({{"Sequence", {{"id", name}, {"type_id", type_id}}}});
    for (int32_t id : impl.suffix_ids) out.push_back(item(id, type_id));
    return out;
  };
  ojson pair = sequence("A", 0);
  for (ojson& i : sequence("B", 1)) pair.push_back(std::move(i));
  return {{"type", "TemplateProcessing"},
          {"single", sequence("A", 0)},
          {"pair", std::move(pair)},
          {"special_tokens", std::move(special_tokens)}};
}

// `value` as JSON text; tokens must be valid UTF-8 to be written at all.
template <class Json>
std::string dump(const Json& value, const std::string& source, const std::string& what, int indent = -1) {
  try {
    return value.dump(indent);
  } catch (const nlohmann::json::type_error& e) {
    MACA_THROW(FileError, "{}: {} cannot be written as JSON ({})", source, what, e.what());
  }
}

// One added token per line.
std::string added_tokens_json(const std::vector<AddedToken>& tokens, const std::string& source) {
  std::string out = "[";
  for (const AddedToken& t : tokens) {
    out += &t == &tokens.front() ? "\n" : ",\n";
    out += dump(ojson{{"id", t.id},
                      {"content", t.content},
                      {"single_word", t.single_word},
                      {"lstrip", t.lstrip},
                      {"rstrip", t.rstrip},
                      {"normalized", t.normalized},
                      {"special", t.special}},
                source, fmt::format("added token {}", t.id));
  }
  return out + "]";
}

// The BPE model's vocabulary (in id order) and merges are written a line
// per entry by hand: an ordered_json object of 262k keys would be quadratic.
void append_model(const TokenizerImpl& impl, std::string& out) {
  const BpeModel& model = *impl.model;
  const BpeOptions& o = model.options();
  std::vector<const std::string*> by_id(impl.id_to_token.size(), nullptr);
  for (const auto& [token, id] : model.vocab()) {
    if (by_id[id] != nullptr)
      MACA_THROW(FileError, "{}: tokens '{}' and '{}' share id {}; tokenizer.json cannot hold that", impl.source,
                 *by_id[id], token, id);
    by_id[id] = &token;
  }
  const auto optional_string = [](const std::string& s) { return s.empty() ? ojson(nullptr) : ojson(s); };
  ojson header = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", o.unk_id ? ojson(impl.id_to_token[*o.unk_id]) : ojson(nullptr)},
                  {"continuing_subword_prefix", optional_string(o.continuing_subword_prefix)},
                  {"end_of_word_suffix", optional_string(o.end_of_word_suffix)},
                  {"fuse_unk", o.fuse_unk},
                  {"byte_fallback", o.byte_fallback},
                  {"ignore_merges", o.ignore_merges}};
  std::string text = dump(header, impl.source, "the BPE model");
  text.pop_back();  // the closing brace: vocab and merges follow
  out += text;
  out += ",\n\"vocab\":{";
  bool first = true;
  for (size_t id = 0; id < by_id.size(); ++id) {
    if (by_id[id] == nullptr) continue;
    out += first ? "\n" : ",\n";
    first = false;
    out += dump(nlohmann::json(*by_id[id]), impl.source, fmt::format("token {}", id));
    out += ':';
    out += std::to_string(id);
  }
  out += "},\n\"merges\":[";
  first = true;
  for (const auto& [left, right] : model.merges()) {
    out += first ? "\n" : ",\n";
    first = false;
    out += dump(nlohmann::json::array({left, right}), impl.source, fmt::format("merge '{} {}'", left, right));
  }
  out += "]}";
}

}  // namespace

std::string Tokenizer::to_tokenizer_json() const {
  const TokenizerImpl& impl = *impl_;
  std::string out = "{\"version\":\"1.0\",\n\"truncation\":null,\n\"padding\":null,\n\"added_tokens\":";
  out += added_tokens_json(impl.added_tokens, impl.source);
  out += ",\n\"normalizer\":" + dump(normalizer_json(impl.normalizer), impl.source, "the normalizer");
  out += ",\n\"pre_tokenizer\":" + dump(pre_tokenizer_json(impl.pre_tokenizer), impl.source, "the pre-tokenizer");
  out += ",\n\"post_processor\":" + dump(post_processor_json(impl), impl.source, "the post-processor");
  out += ",\n\"decoder\":" + dump(decoder_json(impl.decoder), impl.source, "the decoder");
  out += ",\n\"model\":";
  append_model(impl, out);
  out += "}\n";
  return out;
}

HfTokenizerFiles hf_tokenizer_files(const io::GgufFile& gguf) {
  const Tokenizer tok = Tokenizer::from_gguf(gguf);
  HfTokenizerFiles files;
  files["tokenizer.json"] = tok.to_tokenizer_json();

  const auto id_of = [&](const std::string& name) -> std::optional<int32_t> {
    const std::string key = "tokenizer.ggml." + name + "_token_id";
    if (!gguf.find(key)) return std::nullopt;
    const int64_t id = gguf.get_int(key);
    if (id < 0 || id >= tok.vocab_size())
      MACA_THROW(FileError, "{}: key '{}': token id {} is outside the vocabulary of {} tokens", gguf.path().string(),
                 key, id, tok.vocab_size());
    return static_cast<int32_t>(id);
  };
  const std::optional<int32_t> bos = id_of("bos"), eos = id_of("eos"), pad = id_of("padding"), unk = id_of("unknown");

  ojson config = {{"tokenizer_class", "PreTrainedTokenizerFast"}};
  const auto adds = [](std::span<const int32_t> ids, std::optional<int32_t> id) {
    return id && std::find(ids.begin(), ids.end(), *id) != ids.end();
  };
  config["add_bos_token"] = adds(tok.prefix_ids(), bos);
  config["add_eos_token"] = adds(tok.suffix_ids(), eos);
  const std::pair<const char*, std::optional<int32_t>> named[] = {
      {"bos_token", bos}, {"eos_token", eos}, {"pad_token", pad}, {"unk_token", unk}};
  for (const auto& [name, id] : named)  // null, not absent: a tokenizer class's own default would add a token
    config[name] = id && tok.is_special(*id) ? ojson(tok.id_to_token(*id)) : ojson(nullptr);
  if (gguf.find("tokenizer.chat_template")) config["chat_template"] = gguf.get_string("tokenizer.chat_template");
  const std::string arch = gguf.find("general.architecture") ? gguf.get_string("general.architecture") : "";
  if (!arch.empty() && gguf.find(arch + ".context_length"))
    config["model_max_length"] = gguf.get_int(arch + ".context_length");
  config["clean_up_tokenization_spaces"] = false;
  files["tokenizer_config.json"] = dump(config, gguf.path().string(), "tokenizer_config.json", 2) + "\n";

  ojson generation = ojson::object();
  if (bos) generation["bos_token_id"] = *bos;
  if (eos) {
    std::vector<int32_t> ends = {*eos};
    for (const char* name : {"eot", "eom"})
      if (const auto id = id_of(name); id && std::find(ends.begin(), ends.end(), *id) == ends.end())
        ends.push_back(*id);
    generation["eos_token_id"] = ends.size() == 1 ? ojson(ends.front()) : ojson(ends);
  }
  if (pad) generation["pad_token_id"] = *pad;
  if (!generation.empty()) files["generation_config.json"] = generation.dump(2) + "\n";
  return files;
}

}  // namespace maca::tokenizer
