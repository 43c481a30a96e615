#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace maca::config {
namespace {

// One leaf of a YAML document, flattened to its dotted key.
struct YamlItem {
  std::string key;
  std::string where;  // "file.yaml:12"
  YAML::Node node;
};

std::string where(const std::string& source, const YAML::Mark& mark) {
  return mark.is_null() ? source : fmt::format("{}:{}", source, mark.line + 1);
}

// Descends maps until the path is a declared option (or a leaf that is not).
void flatten(const YAML::Node& node, const std::string& prefix, const std::string& source, const Schema& schema,
             std::vector<YamlItem>& out) {
  for (const auto& kv : node) {
    if (!kv.first.IsScalar())
      MACA_THROW(ConfigError, "{}: config keys must be plain names", where(source, kv.first.Mark()));
    const std::string key = prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
    if (kv.second.IsMap() && !schema.find(key))
      flatten(kv.second, key, source, schema, out);
    else
      out.push_back({key, where(source, kv.first.Mark()), kv.second});
  }
}

}  // namespace

Config::Config(const Schema& schema) : schema_(&schema) {
  for (const Option& o : schema.options()) values_.emplace(o.key, Entry{o.default_value, "default"});
}

void Config::unknown_key(const std::string& key, const std::string& source) const {
  const std::string suggestion = schema_->closest_key(key);
  MACA_THROW(ConfigError, "unknown config key '{}' ({}){}; 'maca <command> --help' lists the keys", key, source,
             suggestion.empty() ? "" : fmt::format(": did you mean '{}'?", suggestion));
}

void Config::merge_yaml(std::string_view text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    MACA_THROW(ConfigError, "{}: YAML syntax error: {}", where(source, e.mark), e.msg);
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) MACA_THROW(ConfigError, "{}: expected a map of config keys at the top level", source);

  std::vector<YamlItem> items;
  flatten(root, "", source, *schema_, items);
  for (const YamlItem& item : items) {
    const Option* option = schema_->find(item.key);
    if (!option && schema_->is_section(item.key))
      MACA_THROW(ConfigError, "'{}' is a section; expected a map of its keys ({})", item.key, item.where);
    if (!option) unknown_key(item.key, item.where);
    const YAML::Node& n = item.node;
    if (n.IsMap())
      MACA_THROW(ConfigError, "{}: expected {}, got a map ({})", item.key, describe(option->type()), item.where);
    if (n.IsSequence()) {
      if (!is_list(option->type()))
        MACA_THROW(ConfigError, "{}: expected {}, got a list ({})", item.key, describe(option->type()), item.where);
      std::vector<std::string> elements;
      for (const auto& e : n) {
        if (!e.IsScalar())
          MACA_THROW(ConfigError, "{}: expected {}, got a nested structure ({})", item.key,
                     describe(option->type()), where(source, e.Mark()));
        elements.push_back(e.Scalar());
      }
      values_[item.key] = Entry{parse_elements(*option, elements, item.where), item.where};
    } else {
      set(item.key, n.IsNull() ? std::string_view() : std::string_view(n.Scalar()), item.where);
    }
  }
}

void Config::merge_yaml_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) MACA_THROW(ConfigError, "cannot read config file '{}'", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  merge_yaml(ss.str(), path.string());
}

void Config::merge_assignment(std::string_view assignment) {
  const std::size_t eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0)
    MACA_THROW(ConfigError, "--set expects KEY=VALUE (e.g. --set eval.ctx=2048), got '{}'", assignment);
  set(assignment.substr(0, eq), assignment.substr(eq + 1), fmt::format("--set {}", assignment));
}

void Config::set(std::string_view key, std::string_view text, const std::string& source) {
  const Option* option = schema_->find(key);
  if (!option) unknown_key(std::string(key), source);
  values_[option->key] = Entry{parse_value(*option, text, source), source};
}

const Config::Entry& Config::entry(std::string_view key, OptionType type) const {
  const Option& option = schema_->at(key);
  MACA_ASSERT(option.type() == type, "config key '{}' is {}, not {}", key, describe(option.type()), describe(type));
  return values_.find(key)->second;
}

const std::string& Config::get_string(std::string_view key) const {
  return std::get<std::string>(entry(key, OptionType::String).value);
}
std::int64_t Config::get_int(std::string_view key) const {
  return std::get<std::int64_t>(entry(key, OptionType::Int).value);
}
double Config::get_float(std::string_view key) const { return std::get<double>(entry(key, OptionType::Float).value); }
bool Config::get_bool(std::string_view key) const { return std::get<bool>(entry(key, OptionType::Bool).value); }
const IntList& Config::get_int_list(std::string_view key) const {
  return std::get<IntList>(entry(key, OptionType::IntList).value);
}
const FloatList& Config::get_float_list(std::string_view key) const {
  return std::get<FloatList>(entry(key, OptionType::FloatList).value);
}
const StringList& Config::get_string_list(std::string_view key) const {
  return std::get<StringList>(entry(key, OptionType::StringList).value);
}

const Value& Config::value(std::string_view key) const { return entry(key, schema_->at(key).type()).value; }
const std::string& Config::source(std::string_view key) const {
  return entry(key, schema_->at(key).type()).source;
}

std::string Config::to_yaml() const {
  YAML::Node root(YAML::NodeType::Map);
  for (const Option& o : schema_->options()) {
    YAML::Node parent = root;
    std::string_view rest = o.key;
    for (std::size_t dot; (dot = rest.find('.')) != std::string_view::npos; rest.remove_prefix(dot + 1))
      parent.reset(parent[std::string(rest.substr(0, dot))]);
    YAML::Node leaf;
    const Value& v = value(o.key);
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, IntList> || std::is_same_v<T, FloatList> || std::is_same_v<T, StringList>) {
            leaf = YAML::Node(YAML::NodeType::Sequence);
            leaf.SetStyle(YAML::EmitterStyle::Flow);
            for (const auto& e : x) leaf.push_back(format_value(Value(e)));
          } else {
            leaf = format_value(v);
          }
        },
        v);
    parent[std::string(rest)] = leaf;
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

bool Config::operator==(const Config& other) const {
  if (schema_ != other.schema_) return false;
  for (const Option& o : schema_->options())
    if (value(o.key) != other.value(o.key)) return false;
  return true;
}

Config resolve(const Schema& schema, const std::filesystem::path& yaml_file, const std::vector<std::string>& assignments) {
  Config cfg(schema);
  if (!yaml_file.empty()) cfg.merge_yaml_file(yaml_file);
  for (const std::string& a : assignments) cfg.merge_assignment(a);
  return cfg;
}

}  // namespace maca::config
