// Tokenizer::from_tokenizer_json: reads an HF tokenizer.json into the parts of
// TokenizerImpl. Every component type maca does not implement is an error
// that names the file and the JSON key, never a silent approximation.
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace maca::tokenizer {

namespace {

using nlohmann::json;

// A JSON value with the key path that leads to it, for error messages.
class Node {
 public:
  Node(const json& value, std::string key, const std::string& file)
      : value_(&value), key_(std::move(key)), file_(&file) {}

  [[noreturn]] void fail(const std::string& what) const {
    MACA_THROW(FileError, "{}: key '{}': {}; re-save the tokenizer with HF tokenizers or use a supported one", *file_,
               key_, what);
  }
  const json& value() const { return *value_; }
  const std::string& key() const { return key_; }
  bool is_null() const { return value_->is_null(); }

  // The member `name`; a missing member is an error unless `optional` (then it reads as null).
  Node operator[](const std::string& name) const { return member(name, false); }
  Node optional(const std::string& name) const { return member(name, true); }
  Node at(size_t i) const { return Node(value_->at(i), fmt::format("{}[{}]", key_, i), *file_); }
  size_t size() const {
    if (!value_->is_array()) fail("expected an array");
    return value_->size();
  }
  std::string str() const {
    if (!value_->is_string()) fail("expected a string");
    return value_->get<std::string>();
  }
  bool boolean(bool fallback) const {
    if (value_->is_null()) return fallback;
    if (!value_->is_boolean()) fail("expected true or false");
    return value_->get<bool>();
  }
  int64_t integer() const {
    if (!value_->is_number_integer()) fail("expected an integer");
    return value_->get<int64_t>();
  }
  int32_t token_id() const {
    const int64_t id = integer();
    if (id < 0 || id > INT32_MAX) fail(fmt::format("token id {} is out of range", id));
    return static_cast<int32_t>(id);
  }

 private:
  Node member(const std::string& name, bool optional) const {
    const std::string key = key_.empty() ? name : key_ + "." + name;
    static const json null_value;
    if (!value_->is_object()) fail("expected an object");
    auto it = value_->find(name);
    if (it == value_->end()) {
      if (!optional) Node(null_value, key, *file_).fail("missing");
      return Node(null_value, key, *file_);
    }
    return Node(*it, key, *file_);
  }
  const json* value_;
  std::string key_;
  const std::string* file_;
};

// The children of a "Sequence" component under `list_key`, or the component itself.
std::vector<Node> flatten(const Node& node, const std::string& list_key) {
  if (node.is_null()) return {};
  if (node["type"].str() != "Sequence") return {node};
  std::vector<Node> out;
  const Node list = node[list_key];
  for (size_t i = 0; i < list.size(); ++i) {
    std::vector<Node> sub = flatten(list.at(i), list_key);
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

// The literal of a {"String": ...} pattern; a {"Regex": ...} one only where `regex` accepts it.
std::string string_pattern(const Node& pattern) {
  const Node literal = pattern.optional("String");
  if (literal.is_null()) pattern.fail("only String patterns are supported here");
  std::string s = literal.str();
  if (s.empty()) literal.fail("empty pattern");
  return s;
}

PrependScheme prepend_scheme(const Node& step) {
  const Node scheme = step.optional("prepend_scheme");
  if (scheme.is_null())
    return step.optional("add_prefix_space").boolean(true) ? PrependScheme::Always : PrependScheme::Never;
  const std::string s = scheme.str();
  if (s == "always") return PrependScheme::Always;
  if (s == "first") return PrependScheme::First;
  if (s == "never") return PrependScheme::Never;
  scheme.fail(fmt::format("unknown prepend_scheme '{}'", s));
}

std::vector<NormalizerStep> parse_normalizer(const Node& root) {
  std::vector<NormalizerStep> steps;
  for (const Node& n : flatten(root, "normalizers")) {
    const std::string type = n["type"].str();
    if (type == "Replace")
      steps.push_back({NormalizerStep::Kind::Replace, string_pattern(n["pattern"]), n["content"].str()});
    else if (type == "Prepend")
      steps.push_back({NormalizerStep::Kind::Prepend, "", n["prepend"].str()});
    else
      n["type"].fail(fmt::format("normalizer '{}' is not supported (maca has Sequence, Replace, Prepend)", type));
  }
  return steps;
}

std::vector<PreTokenizerStep> parse_pre_tokenizer(const Node& root) {
  std::vector<PreTokenizerStep> steps;
  using Kind = PreTokenizerStep::Kind;
  for (const Node& n : flatten(root, "pretokenizers")) {
    const std::string type = n["type"].str();
    PreTokenizerStep step;
    if (type == "ByteLevel") {
      step.kind = Kind::ByteLevel;
      step.add_prefix_space = n.optional("add_prefix_space").boolean(true);
      step.use_regex = n.optional("use_regex").boolean(true);
    } else if (type == "Digits") {
      step.kind = Kind::Digits;
      step.individual_digits = n.optional("individual_digits").boolean(false);
    } else if (type == "Split") {
      step.kind = Kind::Split;
      const Node pattern = n["pattern"];
      if (const Node regex = pattern.optional("Regex"); !regex.is_null()) {
        step.regex = find_split_regex(regex.str());
        if (!step.regex) regex.fail("this split regex is not one maca implements (GPT-2, LLaMA-3, Qwen2 patterns)");
      } else {
        step.literal = string_pattern(pattern);
      }
      const std::string behavior = n["behavior"].str();
      auto parsed = parse_split_behavior(behavior);
      if (!parsed) n["behavior"].fail(fmt::format("unknown split behavior '{}'", behavior));
      step.behavior = *parsed;
      if (n.optional("invert").boolean(false)) n["invert"].fail("inverted splits are not supported");
    } else if (type == "Metaspace") {
      step.kind = Kind::Metaspace;
      step.replacement = n["replacement"].str();
      if (step.replacement.empty()) n["replacement"].fail("empty replacement");
      step.prepend_scheme = prepend_scheme(n);
      step.split = n.optional("split").boolean(true);
    } else {
      n["type"].fail(fmt::format(
          "pre-tokenizer '{}' is not supported (maca has Sequence, ByteLevel, Digits, Split, Metaspace)", type));
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

std::optional<std::vector<DecoderStep>> parse_decoder(const Node& root) {
  if (root.is_null()) return std::nullopt;
  std::vector<DecoderStep> steps;
  using Kind = DecoderStep::Kind;
  for (const Node& n : flatten(root, "decoders")) {
    const std::string type = n["type"].str();
    DecoderStep step;
    if (type == "ByteLevel") {
      step.kind = Kind::ByteLevel;
    } else if (type == "Replace") {
      step.kind = Kind::Replace;
      step.pattern = string_pattern(n["pattern"]);
      step.content = n["content"].str();
    } else if (type == "ByteFallback") {
      step.kind = Kind::ByteFallback;
    } else if (type == "Fuse") {
      step.kind = Kind::Fuse;
    } else if (type == "Strip") {
      step.kind = Kind::Strip;
      step.content = n["content"].str();
      step.start = static_cast<int>(n["start"].integer());
      step.stop = static_cast<int>(n["stop"].integer());
    } else if (type == "Metaspace") {
      step.kind = Kind::Metaspace;
      step.content = n["replacement"].str();
      step.prepend_scheme = prepend_scheme(n);
    } else {
      n["type"].fail(
          fmt::format("decoder '{}' is not supported (maca has Sequence, ByteLevel, Replace, ByteFallback, "
                      "Fuse, Strip, Metaspace)",
                      type));
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

// The special-token ids around the sequence in TemplateProcessing's "single" template.
void parse_post_processor(const Node& root, TokenizerImpl& impl) {
  for (const Node& n : flatten(root, "processors")) {
    const std::string type = n["type"].str();
    if (type == "ByteLevel") continue;  // only adjusts offsets
    if (type != "TemplateProcessing")
      n["type"].fail(
          fmt::format("post-processor '{}' is not supported (maca has Sequence, ByteLevel, TemplateProcessing)", type));
    const Node single = n["single"];
    bool seen_sequence = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const Node item = single.at(i);
      if (!item.optional("Sequence").is_null()) {
        seen_sequence = true;
        continue;
      }
      const std::string name = item["SpecialToken"]["id"].str();
      const Node ids = n["special_tokens"][name]["ids"];
      for (size_t k = 0; k < ids.size(); ++k)
        (seen_sequence ? impl.suffix_ids : impl.prefix_ids).push_back(ids.at(k).token_id());
    }
  }
}

std::unique_ptr<BpeModel> parse_model(const Node& model, const std::string& file) {
  const Node type = model.optional("type");
  if (!type.is_null() && type.str() != "BPE")
    type.fail(fmt::format("model '{}' is not supported (maca implements BPE)", type.str()));
  if (const Node dropout = model.optional("dropout");
      !dropout.is_null() && (!dropout.value().is_number() || dropout.value().get<double>() != 0.0))
    dropout.fail("BPE dropout is not supported");
  const Node vocab_node = model["vocab"];
  if (!vocab_node.value().is_object()) vocab_node.fail("expected an object mapping tokens to ids");
  std::unordered_map<std::string, int32_t> vocab;
  vocab.reserve(vocab_node.value().size());
  for (const auto& [token, id] : vocab_node.value().items())
    vocab.emplace(token, Node(id, vocab_node.key() + "." + token, file).token_id());

  const Node merges_node = model["merges"];
  std::vector<std::pair<std::string, std::string>> merges(merges_node.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const Node m = merges_node.at(i);
    if (m.value().is_string()) {
      const std::string line = m.str();
      const size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
        m.fail("a merge must be two tokens separated by one space");
      merges[i] = {line.substr(0, space), line.substr(space + 1)};
    } else {
      if (m.size() != 2) m.fail("a merge must be a pair of tokens");
      merges[i] = {m.at(0).str(), m.at(1).str()};
    }
  }
  BpeOptions options;
  options.byte_fallback = model.optional("byte_fallback").boolean(false);
  options.fuse_unk = model.optional("fuse_unk").boolean(false);
  options.ignore_merges = model.optional("ignore_merges").boolean(false);
  if (const Node unk = model.optional("unk_token"); !unk.is_null()) {
    auto it = vocab.find(unk.str());
    if (it == vocab.end()) unk.fail(fmt::format("unk token '{}' is not in the vocabulary", unk.str()));
    options.unk_id = it->second;
  }
  if (const Node p = model.optional("continuing_subword_prefix"); !p.is_null())
    options.continuing_subword_prefix = p.str();
  if (const Node s = model.optional("end_of_word_suffix"); !s.is_null()) options.end_of_word_suffix = s.str();
  return std::make_unique<BpeModel>(std::move(vocab), merges, std::move(options), file + ": key 'model.merges'");
}

// bos/eos from tokenizer_config.json next to the file (a string or {"content": ...}).
std::optional<int32_t> config_token(const json& config, const char* name, const TokenizerImpl& impl) {
  auto it = config.find(name);
  if (it == config.end() || it->is_null()) return std::nullopt;
  const json& v = it->is_object() ? it->value("content", json()) : *it;
  if (!v.is_string()) return std::nullopt;
  const std::string token = v.get<std::string>();
  for (const AddedToken& t : impl.added_tokens)
    if (t.content == token) return t.id;
  auto found = impl.model->vocab().find(token);
  return found == impl.model->vocab().end() ? std::nullopt : std::optional<int32_t>(found->second);
}

json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) MACA_THROW(FileError, "{}: cannot open the tokenizer file", path.string());
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    MACA_THROW(FileError, "{}: not valid JSON ({}); the tokenizer file is damaged", path.string(), e.what());
  }
}

}  // namespace

Tokenizer Tokenizer::from_tokenizer_json(const std::filesystem::path& path) {
  const json doc = read_json(path);
  auto impl = std::make_shared<TokenizerImpl>();
  impl->source = path.string();
  const Node root(doc, "", impl->source);
  impl->normalizer = parse_normalizer(root.optional("normalizer"));
  impl->pre_tokenizer = parse_pre_tokenizer(root.optional("pre_tokenizer"));
  impl->model = parse_model(root["model"], impl->source);
  impl->decoder = parse_decoder(root.optional("decoder"));
  parse_post_processor(root.optional("post_processor"), *impl);
  const Node added = root.optional("added_tokens");
  for (size_t i = 0; !added.is_null() && i < added.size(); ++i) {
    const Node t = added.at(i);
    impl->added_tokens.push_back({t["content"].str(), t["id"].token_id(), t.optional("special").boolean(false),
                                  t.optional("normalized").boolean(true), t.optional("lstrip").boolean(false),
                                  t.optional("rstrip").boolean(false), t.optional("single_word").boolean(false)});
  }
  if (!impl->prefix_ids.empty()) impl->bos_id = impl->prefix_ids.front();
  const std::filesystem::path config_path = path.parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    const json config = read_json(config_path);
    if (auto bos = config_token(config, "bos_token", *impl)) impl->bos_id = bos;
    impl->eos_id = config_token(config, "eos_token", *impl);
  }
  impl->finalize();
  return Tokenizer(std::move(impl));
}

}  // namespace maca::tokenizer
