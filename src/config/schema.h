// The typed schema of configuration options.
//
// Every option maca understands is declared once, with its dotted key
// ("eval.ctx"), its type (given by the type of its default value), its default,
// a help text and an optional check (range or choices). Defaults live here and
// nowhere else; YAML files and --set flags can only change declared keys, and
// an unknown key is answered with the closest declared one. The options of
// each area are declared in options.cpp (one function per area).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace maca::config {

using IntList = std::vector<std::int64_t>;
using FloatList = std::vector<double>;
using StringList = std::vector<std::string>;

// The value of one option. The alternative held by an option's default value
// is the option's type.
using Value = std::variant<std::string, std::int64_t, double, bool, IntList, FloatList, StringList>;

enum class OptionType { String, Int, Float, Bool, IntList, FloatList, StringList };

OptionType type_of(const Value& v);
bool is_list(OptionType t);
// "an integer", "a list of numbers", ... for messages and help.
std::string describe(OptionType t);

// An optional constraint on an option's value; applied to every element of a
// list. `error` returns an empty string for a valid scalar or says what is
// wrong with it; `description` is shown in --help ("1..65536", "cpu|cuda|auto").
struct Check {
  std::function<std::string(const Value& scalar)> error;
  std::string description;
};

// Integer or float scalar in [lo, hi].
Check in_range(double lo, double hi);
// Integer or float scalar >= lo.
Check at_least(double lo);
// String scalar equal to one of `choices`.
Check one_of(std::vector<std::string> choices);

struct Option {
  std::string key;  // dotted path, "<section>.<name>"
  Value default_value;
  std::string help;
  std::optional<Check> check = {};

  OptionType type() const { return type_of(default_value); }
};

// Parses `text` as a value of `option` (scalars by their type; lists as
// "a,b,c" or "[a, b, c]"; an empty text is an empty list). Throws
// maca::ConfigError "<key>: expected an integer, got 'abc' (<source>)" for a
// wrong type and names the check for a value out of range.
Value parse_value(const Option& option, std::string_view text, const std::string& source);
// Parses the elements of a list option, each like parse_value parses a scalar.
Value parse_elements(const Option& option, const std::vector<std::string>& elements, const std::string& source);
// Validates a typed value; throws like parse_value.
void check_value(const Option& option, const Value& value, const std::string& source);
// Text that parse_value reads back to the same value ("[1, 2]", "0.1", "true").
std::string format_value(const Value& v);

// Levenshtein edit distance between two strings.
std::size_t edit_distance(std::string_view a, std::string_view b);

// An ordered set of options. Keys are unique and no key is a section (prefix)
// of another. Declaring a bad option is an internal assert.
class Schema {
 public:
  Schema& add(Option option);

  // nullptr when `key` is not declared.
  const Option* find(std::string_view key) const;
  // The declared option; an undeclared key is an internal assert.
  const Option& at(std::string_view key) const;
  // True when some declared key starts with "<prefix>.".
  bool is_section(std::string_view prefix) const;
  // The declared key closest to `key` (same last component, or a small edit
  // distance); empty when nothing is close.
  std::string closest_key(std::string_view key) const;
  // Options in declaration order.
  const std::vector<Option>& options() const { return options_; }
  // Section names in order of first declaration ("model", "eval", ...).
  std::vector<std::string> sections() const;

 private:
  std::vector<Option> options_;
};

}  // namespace maca::config
