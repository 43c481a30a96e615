#include "config/schema.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/error.h"

namespace maca::config {
namespace {

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

template <typename T>
std::optional<T> parse_number(std::string_view s) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  T out{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return out;
}

std::optional<bool> parse_bool(std::string_view s) {
  std::string lower(trim(s));
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return true;
  if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return false;
  return std::nullopt;
}

// The scalar type of an option's elements.
OptionType element_type(OptionType t) {
  switch (t) {
    case OptionType::IntList: return OptionType::Int;
    case OptionType::FloatList: return OptionType::Float;
    case OptionType::StringList: return OptionType::String;
    default: return t;
  }
}

std::optional<Value> parse_scalar(OptionType t, std::string_view text) {
  switch (t) {
    case OptionType::String: return Value(std::string(text));
    case OptionType::Int:
      if (auto v = parse_number<std::int64_t>(text)) return Value(*v);
      return std::nullopt;
    case OptionType::Float:
      if (auto v = parse_number<double>(text)) return Value(*v);
      return std::nullopt;
    case OptionType::Bool:
      if (auto v = parse_bool(text)) return Value(*v);
      return std::nullopt;
    default: MACA_ASSERT(false, "parse_scalar of a list type");
  }
  return std::nullopt;
}

// Splits "a, b" or "[a, b]" into trimmed elements; "" and "[]" are empty.
std::vector<std::string_view> split_list(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = trim(text.substr(1, text.size() - 2));
  std::vector<std::string_view> parts;
  if (text.empty()) return parts;
  for (std::size_t start = 0;;) {
    const std::size_t comma = text.find(',', start);
    parts.push_back(trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

template <typename T>
void push_element(Value& list, const Value& scalar) {
  using Elem = typename T::value_type;
  std::get<T>(list).push_back(std::get<Elem>(scalar));
}

void append(Value& list, const Value& scalar) {
  switch (type_of(list)) {
    case OptionType::IntList: push_element<IntList>(list, scalar); break;
    case OptionType::FloatList: push_element<FloatList>(list, scalar); break;
    case OptionType::StringList: push_element<StringList>(list, scalar); break;
    default: MACA_ASSERT(false, "append to a scalar");
  }
}

// Calls fn(scalar Value) for a scalar or for every element of a list.
template <typename Fn>
void for_each_scalar(const Value& v, Fn&& fn) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, IntList> || std::is_same_v<T, FloatList> || std::is_same_v<T, StringList>) {
          for (const auto& e : x) fn(Value(e));
        } else {
          fn(v);
        }
      },
      v);
}

double as_double(const Value& scalar) {
  if (const auto* i = std::get_if<std::int64_t>(&scalar)) return static_cast<double>(*i);
  return std::get<double>(scalar);
}

std::string source_suffix(const std::string& source) { return source.empty() ? "" : fmt::format(" ({})", source); }

}  // namespace

OptionType type_of(const Value& v) { return static_cast<OptionType>(v.index()); }

bool is_list(OptionType t) {
  return t == OptionType::IntList || t == OptionType::FloatList || t == OptionType::StringList;
}

std::string describe(OptionType t) {
  switch (t) {
    case OptionType::String: return "a string";
    case OptionType::Int: return "an integer";
    case OptionType::Float: return "a number";
    case OptionType::Bool: return "a boolean (true/false)";
    case OptionType::IntList: return "a list of integers";
    case OptionType::FloatList: return "a list of numbers";
    case OptionType::StringList: return "a list of strings";
  }
  return "?";
}

Check in_range(double lo, double hi) {
  return {[lo, hi](const Value& v) {
            const double x = as_double(v);
            return x >= lo && x <= hi ? std::string() : fmt::format("{} is out of range {}..{}", x, lo, hi);
          },
          fmt::format("{}..{}", lo, hi)};
}

Check at_least(double lo) {
  return {[lo](const Value& v) {
            const double x = as_double(v);
            return x >= lo ? std::string() : fmt::format("{} is below the minimum {}", x, lo);
          },
          fmt::format(">= {}", lo)};
}

Check one_of(std::vector<std::string> choices) {
  const std::string joined = fmt::format("{}", fmt::join(choices, "|"));
  return {[choices = std::move(choices), joined](const Value& v) {
            const auto& s = std::get<std::string>(v);
            return std::find(choices.begin(), choices.end(), s) != choices.end()
                       ? std::string()
                       : fmt::format("'{}' is not one of {}", s, joined);
          },
          joined};
}

void check_value(const Option& option, const Value& value, const std::string& source) {
  MACA_ASSERT(type_of(value) == option.type(), "value of the wrong type for {}", option.key);
  if (!option.check) return;
  for_each_scalar(value, [&](const Value& scalar) {
    if (const std::string err = option.check->error(scalar); !err.empty())
      MACA_THROW(ConfigError, "{}: {}{}", option.key, err, source_suffix(source));
  });
}

Value parse_value(const Option& option, std::string_view text, const std::string& source) {
  const OptionType t = option.type();
  if (is_list(t)) {
    std::vector<std::string> elements;
    for (std::string_view part : split_list(text)) elements.emplace_back(part);
    return parse_elements(option, elements, source);
  }
  auto v = parse_scalar(t, t == OptionType::String ? text : trim(text));
  if (!v) MACA_THROW(ConfigError, "{}: expected {}, got '{}'{}", option.key, describe(t), text, source_suffix(source));
  check_value(option, *v, source);
  return std::move(*v);
}

Value parse_elements(const Option& option, const std::vector<std::string>& elements, const std::string& source) {
  const OptionType t = option.type();
  MACA_ASSERT(is_list(t), "{} is not a list option", option.key);
  Value out = option.default_value;
  std::visit([](auto& list) { list = {}; }, out);
  for (const std::string& e : elements) {
    auto v = parse_scalar(element_type(t), element_type(t) == OptionType::String ? e : trim(e));
    if (!v)
      MACA_THROW(ConfigError, "{}: expected {}, got element '{}'{}", option.key, describe(t), e, source_suffix(source));
    append(out, *v);
  }
  check_value(option, out, source);
  return out;
}

std::string format_value(const Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string> || std::is_arithmetic_v<T>) {
          return fmt::format("{}", x);
        } else {
          return fmt::format("[{}]", fmt::join(x, ", "));
        }
      },
      v);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

Schema& Schema::add(Option option) {
  MACA_ASSERT(option.key.find('.') != std::string::npos, "config key '{}' needs a section", option.key);
  MACA_ASSERT(!find(option.key) && !is_section(option.key), "config key '{}' declared twice", option.key);
  for (const Option& o : options_)
    MACA_ASSERT(!o.key.starts_with(option.key + ".") && !option.key.starts_with(o.key + "."),
                "config keys '{}' and '{}' overlap", o.key, option.key);
  try {
    check_value(option, option.default_value, "default");
  } catch (const ConfigError& e) {
    MACA_ASSERT(false, "bad default: {}", e.what());
  }
  options_.push_back(std::move(option));
  return *this;
}

const Option* Schema::find(std::string_view key) const {
  const auto it = std::find_if(options_.begin(), options_.end(), [&](const Option& o) { return o.key == key; });
  return it == options_.end() ? nullptr : &*it;
}

const Option& Schema::at(std::string_view key) const {
  const Option* o = find(key);
  MACA_ASSERT(o != nullptr, "config key '{}' is not declared in the schema", key);
  return *o;
}

bool Schema::is_section(std::string_view prefix) const {
  return std::any_of(options_.begin(), options_.end(), [&](const Option& o) {
    return o.key.size() > prefix.size() && o.key.starts_with(prefix) && o.key[prefix.size()] == '.';
  });
}

std::string Schema::closest_key(std::string_view key) const {
  const auto leaf = [](std::string_view k) { return k.substr(k.rfind('.') + 1); };
  std::string best;
  std::size_t best_dist = std::string::npos;
  for (const Option& o : options_) {
    // The right name in the wrong section counts as close as one edit.
    const std::size_t d = leaf(o.key) == leaf(key) ? 1 : edit_distance(key, o.key);
    if (d < best_dist) best_dist = d, best = o.key;
  }
  return best_dist <= std::max<std::size_t>(2, key.size() / 3) ? best : std::string();
}

std::vector<std::string> Schema::sections() const {
  std::vector<std::string> out;
  for (const Option& o : options_) {
    std::string s = o.key.substr(0, o.key.find('.'));
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  }
  return out;
}

}  // namespace maca::config
