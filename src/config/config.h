// A resolved configuration: one typed value per option of a Schema.
//
// Precedence: built-in defaults (the schema) < YAML file (`-c FILE`) < `--set
// a.b=value` flags. A Config starts from the defaults; each later source
// overrides the keys it names. Every value remembers where it came from
// ("default", "run.yaml:12", "--set eval.ctx=512") for messages. Unknown keys
// and values of the wrong type are maca::ConfigError naming the key, the
// source and, for unknown keys, the closest valid key.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/schema.h"

namespace maca::config {

class Config {
 public:
  // Every option at its default. `schema` must outlive the Config.
  explicit Config(const Schema& schema);

  // Merges a YAML document: nested maps ("eval: {ctx: 2048}") or dotted keys
  // ("eval.ctx: 2048"), lists as sequences or "a,b". `source` names the
  // document in messages (a file name); lines are appended where known.
  void merge_yaml(std::string_view text, const std::string& source);
  // Reads and merges a YAML file; an unreadable file is a ConfigError.
  void merge_yaml_file(const std::filesystem::path& path);
  // Applies one "key=value" assignment as given to --set.
  void merge_assignment(std::string_view assignment);
  // Sets `key` from its text form; `source` names where it came from (e.g. "--ctx").
  void set(std::string_view key, std::string_view text, const std::string& source);

  // Typed accessors. Asking for an undeclared key, or with the wrong type, is
  // an internal assert.
  const std::string& get_string(std::string_view key) const;
  std::int64_t get_int(std::string_view key) const;
  double get_float(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  const IntList& get_int_list(std::string_view key) const;
  const FloatList& get_float_list(std::string_view key) const;
  const StringList& get_string_list(std::string_view key) const;

  const Value& value(std::string_view key) const;
  // Where the value of `key` came from ("default", "file.yaml:3", "--set ...").
  const std::string& source(std::string_view key) const;
  const Schema& schema() const { return *schema_; }

  // The whole configuration as nested YAML, keys in schema order; merging it
  // into a fresh Config reproduces every value exactly.
  std::string to_yaml() const;

  bool operator==(const Config& other) const;

 private:
  struct Entry {
    Value value;
    std::string source;
  };
  const Entry& entry(std::string_view key, OptionType type) const;
  // Throws the ConfigError for an unknown key, with a suggestion.
  [[noreturn]] void unknown_key(const std::string& key, const std::string& source) const;

  const Schema* schema_;
  std::map<std::string, Entry, std::less<>> values_;
};

// defaults < YAML file (when `yaml_file` is not empty) < each "key=value" of `assignments`.
Config resolve(const Schema& schema, const std::filesystem::path& yaml_file, const std::vector<std::string>& assignments);

}  // namespace maca::config
