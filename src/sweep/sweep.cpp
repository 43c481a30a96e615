#include "sweep/sweep.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "config/schema.h"
#include "core/error.h"

namespace maca::sweep {
namespace {

namespace fs = std::filesystem;

// Keys the sweep owns or that mean nothing to a point.
bool reserved_key(const std::string& key) { return key == "run.dir" || key.starts_with("sweep."); }

// Keys the results table shows in columns of their own.
bool column_key(const std::string& key) {
  return key == "model.path" || key == "quant.bits" || key == "quant.group_size" || key == "calib.seed";
}

// Appends `item` to a `sep`-separated list.
void append(std::string& list, const char* sep, const std::string& item) {
  if (!list.empty()) list += sep;
  list += item;
}

// What labels (parts of run directory names) are made of.
constexpr std::string_view kLabelChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-";

bool valid_label(const std::string& s) { return !s.empty() && s.find_first_not_of(kLabelChars) == std::string::npos; }

// Replaces every run of characters unfit for a label by one '_'; "none" when nothing is left.
std::string sanitize(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (kLabelChars.find(c) != std::string_view::npos)
      out += c;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "none" : out;
}

// The short name of one setting in a run directory name: w4, g128, s1, the
// model's file name, a string value itself, else <last key part><value>.
std::string scalar_label(const std::string& key, const std::string& value) {
  static const std::pair<const char*, const char*> kPrefixes[] = {
      {"quant.bits", "w"}, {"quant.group_size", "g"}, {"calib.seed", "s"}, {"calib.n_samples", "n"}};
  for (const auto& [k, prefix] : kPrefixes)
    if (key == k) return prefix + value;
  const config::Option& option = config::builtin_schema().at(key);
  if (option.type() == config::OptionType::String) {
    fs::path p(value);
    if (key == "model.path" || value.find('/') != std::string::npos) {
      if (p.filename().empty()) p = p.parent_path();
      return sanitize(p.extension() == ".gguf" ? p.stem().string() : p.filename().string());
    }
    return sanitize(value);
  }
  const bool list = value.size() >= 2 && value.front() == '[';  // "[128, 2048]" -> lengths128_2048
  return sanitize(key.substr(key.rfind('.') + 1) + (list ? value.substr(1, value.size() - 2) : value));
}

// Reading one sweep file: its name for messages and its parsed document.
class Reader {
 public:
  explicit Reader(const fs::path& file) : name_(file.string()) {
    std::ifstream in(file);
    if (!in) MACA_THROW(ConfigError, "cannot read sweep file '{}'", name_);
    std::stringstream text;
    text << in.rdbuf();
    try {
      root_ = YAML::Load(text.str());
    } catch (const YAML::Exception& e) {
      MACA_THROW(ConfigError, "{}: YAML syntax error: {}", at(e.mark), e.msg);
    }
    if (!root_.IsMap()) MACA_THROW(ConfigError, "{}: expected a map (name, base, set, grid, exclude, out)", name_);
  }

  const YAML::Node& root() const { return root_; }

  std::string at(const YAML::Mark& mark) const {
    return mark.is_null() ? name_ : fmt::format("{}:{}", name_, mark.line + 1);
  }
  std::string at(const YAML::Node& node) const { return node.IsDefined() ? at(node.Mark()) : name_; }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& what) const {
    MACA_THROW(ConfigError, "{}: {}", at(node), what);
  }

  // One override: the key checked against the schema, the value against the
  // option's type and checks, and written in the form --set reads back.
  Override override_of(const std::string& key, const YAML::Node& key_node, const YAML::Node& value,
                       const std::string& context) const {
    const std::string source = fmt::format("{} ({})", at(key_node), context);
    const config::Schema& schema = config::builtin_schema();
    const config::Option* option = schema.find(key);
    if (!option) {
      const std::string closest = schema.closest_key(key);
      MACA_THROW(ConfigError, "{}: unknown config key '{}'{}; 'maca quantize --help' lists the keys", source, key,
                 closest.empty() ? "" : fmt::format(" (did you mean '{}'?)", closest));
    }
    if (reserved_key(key))
      MACA_THROW(ConfigError, "{}: '{}' cannot be set in a sweep: {}", source, key,
                 key == "run.dir" ? "every point gets its own run directory under the sweep's `out`"
                                  : "sweep.* keys are options of `maca sweep` itself");
    if (value.IsMap()) MACA_THROW(ConfigError, "{}: {} expects {}, got a map", source, key, describe(option->type()));
    if (value.IsSequence()) {
      if (!is_list(option->type()))
        MACA_THROW(ConfigError, "{}: {} expects {}, got a list", source, key, describe(option->type()));
      std::vector<std::string> elements;
      for (const auto& e : value) {
        if (!e.IsScalar())
          MACA_THROW(ConfigError, "{}: {} expects {}, got a nested list", source, key, describe(option->type()));
        elements.push_back(e.Scalar());
      }
      return {key, config::format_value(config::parse_elements(*option, elements, source)), source};
    }
    const std::string text = value.IsNull() ? std::string() : value.Scalar();
    return {key, config::format_value(config::parse_value(*option, text, source)), source};
  }

  // The overrides of a map, nested maps flattened to dotted keys as in config
  // files; `skip` names a top-level key that is not a config key ("label").
  void overrides_of(const YAML::Node& map, const std::string& prefix, const std::string& context,
                    const std::string& skip, std::vector<Override>& out) const {
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) fail(kv.first, fmt::format("{}: keys must be plain names", context));
      const std::string name = kv.first.Scalar();
      if (prefix.empty() && name == skip) continue;
      const std::string key = prefix.empty() ? name : prefix + "." + name;
      if (kv.second.IsMap() && !config::builtin_schema().find(key))
        overrides_of(kv.second, key, context, skip, out);
      else
        out.push_back(override_of(key, kv.first, kv.second, context));
    }
  }

  Axis axis_of(const YAML::Node& key_node, const YAML::Node& values) const {
    Axis axis;
    axis.name = key_node.Scalar();
    const std::string context = fmt::format("grid.{}", axis.name);
    if (!values.IsSequence())
      fail(key_node, fmt::format("{}: expected a list of values (e.g. {}: [a, b]), got {}", context, axis.name,
                                 values.IsMap() ? "a map" : "a single value"));
    if (values.size() == 0) fail(key_node, fmt::format("{}: the list of values is empty", context));
    axis.variants = values[0].IsMap();
    std::set<std::string> labels;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const YAML::Node& v = values[i];
      const std::string where = fmt::format("{}[{}]", context, i);
      if (v.IsMap() != axis.variants)
        fail(v, fmt::format("{}: mix of maps (variants) and plain values; an axis holds one kind", where));
      AxisValue value;
      if (axis.variants) {
        overrides_of(v, "", where, "label", value.overrides);
        if (value.overrides.empty()) fail(v, fmt::format("{}: a variant sets no config key", where));
        if (v["label"]) {
          value.label = v["label"].Scalar();
          if (!valid_label(value.label))
            fail(v["label"],
                 fmt::format("{}: label '{}' must be letters, digits, '.', '_', '+' or '-'", where, value.label));
        } else {
          for (const Override& o : value.overrides) append(value.label, "-", scalar_label(o.key, o.value));
        }
        value.match = value.label;
      } else {
        if (config::builtin_schema().is_section(axis.name) && !config::builtin_schema().find(axis.name))
          fail(key_node, fmt::format("{}: '{}' is a section; name one of its keys, or give the axis variants "
                                     "(maps of keys)",
                                     context, axis.name));
        value.overrides.push_back(override_of(axis.name, key_node, v, where));
        value.match = value.overrides.back().value;
        value.label = scalar_label(axis.name, value.match);
      }
      if (!labels.insert(value.label).second)
        fail(v, fmt::format("{}: two values of axis '{}' have the label '{}'; run directories would collide", where,
                            axis.name, value.label));
      axis.values.push_back(std::move(value));
    }
    return axis;
  }

  // exclude: [{axis: value, ...}, ...] -> per entry, the value index per axis (-1: any).
  std::vector<std::vector<int>> excludes(const std::vector<Axis>& grid) const {
    std::vector<std::vector<int>> out;
    const YAML::Node list = root_["exclude"];
    if (!list) return out;
    if (!list.IsSequence()) fail(list, "exclude: expected a list of maps {axis: value}");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node& entry = list[i];
      if (!entry.IsMap() || entry.size() == 0)
        fail(entry, fmt::format("exclude[{}]: expected a map {{axis: value}}", i));
      std::vector<int> pick(grid.size(), -1);
      for (const auto& kv : entry) {
        const std::string name = kv.first.Scalar();
        std::size_t a = 0;
        while (a < grid.size() && grid[a].name != name) ++a;
        if (a == grid.size()) fail(kv.first, fmt::format("exclude[{}]: '{}' is not an axis of the grid", i, name));
        const Axis& axis = grid[a];
        const std::string wanted =
            axis.variants ? kv.second.Scalar() : override_of(name, kv.first, kv.second, "exclude").value;
        for (std::size_t v = 0; v < axis.values.size(); ++v)
          if (axis.values[v].match == wanted) pick[a] = static_cast<int>(v);
        if (pick[a] < 0) fail(kv.second, fmt::format("exclude[{}]: '{}' is not a value of axis '{}'", i, wanted, name));
      }
      out.push_back(std::move(pick));
    }
    return out;
  }

 private:
  std::string name_;
  YAML::Node root_;
};

void check_top_level_keys(const Reader& r) {
  static const std::vector<std::string> kKeys = {"name", "base", "set", "grid", "exclude", "out"};
  for (const auto& kv : r.root()) {
    const std::string key = kv.first.Scalar();
    if (std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end()) continue;
    std::string closest;
    for (const std::string& k : kKeys)
      if (config::edit_distance(key, k) <= 2) closest = k;
    r.fail(kv.first, fmt::format("unknown sweep key '{}'{}; a sweep file has: name, base, set, grid, exclude, out", key,
                                 closest.empty() ? "" : fmt::format(" (did you mean '{}'?)", closest)));
  }
}

std::string scalar_field(const Reader& r, const char* key) {
  const YAML::Node n = r.root()[key];
  if (!n) return {};
  if (!n.IsScalar()) r.fail(n, fmt::format("{}: expected a single value", key));
  return n.Scalar();
}

// The cross product of the axes (first axis slowest) minus the excluded
// combinations: per point, the value index on every axis.
std::vector<std::vector<int>> combinations(const std::vector<Axis>& grid,
                                           const std::vector<std::vector<int>>& excludes) {
  std::vector<std::vector<int>> out;
  std::vector<int> pick(grid.size(), 0);
  while (true) {
    const bool excluded = std::any_of(excludes.begin(), excludes.end(), [&](const std::vector<int>& e) {
      for (std::size_t a = 0; a < grid.size(); ++a)
        if (e[a] >= 0 && e[a] != pick[a]) return false;
      return true;
    });
    if (!excluded) out.push_back(pick);
    std::size_t a = grid.size();
    while (a > 0 && ++pick[a - 1] == static_cast<int>(grid[a - 1].values.size())) pick[--a] = 0;
    if (a == 0) return out;
  }
}

}  // namespace

fs::path find_beside(const fs::path& name, const fs::path& sweep_file, const std::string& what) {
  if (name.is_absolute()) {
    if (fs::exists(name)) return name;
    MACA_THROW(ConfigError, "{}: {} '{}' does not exist", sweep_file.string(), what, name.string());
  }
  const fs::path dir = fs::absolute(sweep_file).parent_path();
  const std::vector<fs::path> places = {dir / name, dir.parent_path() / name, fs::current_path() / name};
  std::string looked;
  for (const fs::path& p : places) {
    if (fs::exists(p)) return p.lexically_normal();
    append(looked, ", ", p.lexically_normal().string());
  }
  MACA_THROW(ConfigError, "{}: {} '{}' not found; looked in: {}", sweep_file.string(), what, name.string(), looked);
}

Sweep load_sweep(const fs::path& file, const std::vector<Override>& extra, const fs::path& out) {
  const Reader r(file);
  check_top_level_keys(r);
  Sweep sweep;
  sweep.file = file;
  sweep.name = scalar_field(r, "name");
  if (sweep.name.empty()) sweep.name = file.stem().string();
  if (!valid_label(sweep.name))
    r.fail(r.root()["name"], fmt::format("name '{}' must be letters, digits, '.', '_', '+' or '-'", sweep.name));

  const std::string base = scalar_field(r, "base");
  if (base.empty())
    MACA_THROW(ConfigError, "{}: no `base` config (e.g. base: configs/gptq-w4g128.yaml)", file.string());
  sweep.base = find_beside(base, file, "base config");

  std::vector<Override> common;
  if (const YAML::Node set = r.root()["set"]) {
    if (!set.IsMap()) r.fail(set, "set: expected a map of config keys to values");
    r.overrides_of(set, "", "set", "", common);
  }

  const YAML::Node grid = r.root()["grid"];
  if (!grid || (grid.IsMap() && grid.size() == 0))
    MACA_THROW(ConfigError, "{}: empty grid; give at least one axis (e.g. grid: {{calib.seed: [0, 1]}})",
               file.string());
  if (!grid.IsMap()) r.fail(grid, "grid: expected a map of axes (key: [values])");
  for (const auto& kv : grid) sweep.grid.push_back(r.axis_of(kv.first, kv.second));

  std::set<std::string> varied;
  for (const Axis& axis : sweep.grid)
    for (const AxisValue& v : axis.values)
      for (const Override& o : v.overrides) varied.insert(o.key);
  for (const Override& o : extra) {
    if (reserved_key(o.key))
      MACA_THROW(ConfigError, "{}: '{}' cannot be set for a sweep's points ({})", file.string(), o.key, o.source);
    if (varied.count(o.key))
      MACA_THROW(ConfigError, "{}: '{}' ({}) is varied by the grid of the sweep; change the sweep file instead",
                 file.string(), o.key, o.source);
  }

  const std::string out_text = scalar_field(r, "out");
  const fs::path chosen = !out.empty()        ? out
                          : !out_text.empty() ? fs::path(out_text)
                                              : fs::path("runs/sweep-" + sweep.name);
  sweep.out = fs::absolute(chosen).lexically_normal();

  const auto picks = combinations(sweep.grid, r.excludes(sweep.grid));
  if (picks.empty()) MACA_THROW(ConfigError, "{}: `exclude` removes every point of the grid", file.string());
  const int width = std::max<int>(2, static_cast<int>(std::to_string(picks.size() - 1).size()));
  for (const auto& pick : picks) {
    Point p;
    p.index = static_cast<int>(sweep.points.size());
    p.name = fmt::format("{:0{}}", p.index, width);
    p.overrides = common;
    std::string label;
    for (std::size_t a = 0; a < sweep.grid.size(); ++a) {
      const AxisValue& v = sweep.grid[a].values[pick[a]];
      p.labels.push_back(v.label);
      p.name += "-" + v.label;
      p.overrides.insert(p.overrides.end(), v.overrides.begin(), v.overrides.end());
      if (std::any_of(v.overrides.begin(), v.overrides.end(), [](const Override& o) { return !column_key(o.key); }))
        append(label, "-", v.label);
    }
    p.overrides.insert(p.overrides.end(), extra.begin(), extra.end());
    p.run_dir = sweep.out / p.name;
    p.config.merge_yaml_file(sweep.base);
    for (const Override& o : p.overrides) p.config.set(o.key, o.value, o.source);
    p.config.set("run.dir", p.run_dir.string(), "maca sweep");
    p.label = label.empty() ? p.config.get_string("quant.method") : label;
    sweep.points.push_back(std::move(p));
  }
  return sweep;
}

fs::path log_file(const Sweep& sweep, const Point& point) { return sweep.out / "logs" / (point.name + ".log"); }

fs::path failed_marker(const Sweep& sweep, const Point& point) { return sweep.out / "logs" / (point.name + ".failed"); }

bool is_done(const Point& point) { return fs::exists(point.run_dir / "report.json"); }

std::vector<std::string> quantize_args(const Sweep& sweep, const Point& point) {
  std::vector<std::string> args = {"quantize", "-c", sweep.base.string()};
  for (const Override& o : point.overrides) args.insert(args.end(), {"--set", o.key + "=" + o.value});
  args.insert(args.end(), {"--set", "run.dir=" + point.run_dir.string()});
  return args;
}

std::string shell_join(const std::vector<std::string>& args) {
  std::string line;
  for (const std::string& a : args) {
    if (!line.empty()) line += ' ';
    const bool plain = !a.empty() && a.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_@%+=:,./-") == std::string::npos;
    if (plain) {
      line += a;
      continue;
    }
    line += '\'';
    for (const char c : a) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
    line += '\'';
  }
  return line;
}

void write_point_table(const Sweep& sweep) {
  fs::create_directories(sweep.out);
  const fs::path path = sweep.out / "points.tsv";
  std::ofstream f(path);
  f << "index\tname\trun_dir\toverrides\n";
  for (const Point& p : sweep.points) {
    std::string overrides;
    for (const Override& o : p.overrides) append(overrides, " ", o.key + "=" + o.value);
    f << p.index << '\t' << p.name << '\t' << p.run_dir.string() << '\t' << overrides << '\n';
  }
  if (!f) MACA_THROW(FileError, "cannot write '{}'", path.string());
}

}  // namespace maca::sweep
