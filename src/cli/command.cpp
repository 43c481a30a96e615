#include "cli/command.h"

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <iostream>
#include <sstream>

#include "settings/options.h"
#include "core/error.h"
#include "core/log.h"
#include "parallel/comm.h"

namespace maca::cli {
namespace {

namespace po = boost::program_options;

// Flags every command takes, besides -h, -c and --set.
const std::vector<Flag>& global_flags() {
  static const std::vector<Flag> flags = {
      {"log-level", "run.log_level", "LEVEL"},
      {"device", "run.device", "DEVICE"},
      {"threads", "run.threads", "N"},
  };
  return flags;
}

std::string shown_default(const config::Value& v) {
  const std::string s = config::format_value(v);
  return s.empty() ? "''" : s;
}

// Boost keeps copies of the names and texts given to add_options.
po::options_description describe_options(const Command& command) {
  po::options_description desc("Options", 100, 50);
  desc.add_options()("help,h", "explain the options of this command")(
      "config,c", po::value<std::string>()->value_name("FILE"), "YAML config file (keys listed below)")(
      "set", po::value<std::vector<std::string>>()->composing()->value_name("KEY=VALUE"),
      "set one config key (repeatable); wins over the config file and the flags below");
  std::vector<Flag> flags = command.flags;
  flags.insert(flags.end(), global_flags().begin(), global_flags().end());
  const config::Schema& schema = config::builtin_schema();
  for (const Flag& f : flags) {
    const config::Option& o = schema.at(f.key);
    const std::string help = fmt::format("{} [{}; default: {}]", o.help, o.key, shown_default(o.default_value));
    if (f.value_name.empty())
      desc.add_options()(f.name.c_str(), po::bool_switch(), help.c_str());
    else
      desc.add_options()(f.name.c_str(), po::value<std::string>()->value_name(f.value_name), help.c_str());
  }
  return desc;
}

// The flag of `command` closest to the unknown `name`; empty when none is close.
std::string closest_flag(const Command& command, const std::string& name) {
  std::vector<std::string> names = {"help", "config", "set"};
  for (const auto* list : {&command.flags, &global_flags()})
    for (const Flag& f : *list) names.push_back(f.name);
  std::string bare = name.substr(0, name.find('='));
  bare.erase(0, bare.find_first_not_of('-'));
  std::string best;
  std::size_t best_dist = std::max<std::size_t>(2, bare.size() / 3) + 1;
  for (const std::string& n : names) {
    const std::size_t d = config::edit_distance(bare, n);
    if (d < best_dist) best_dist = d, best = n;
  }
  return best;
}

po::variables_map parse(const Command& command, const po::options_description& desc,
                        const std::vector<std::string>& args) {
  po::positional_options_description positional;
  if (!command.positional_flag.empty()) positional.add(command.positional_flag.c_str(), 1);
  po::variables_map vm;
  try {
    // No prefix guessing: a misspelt flag gets a suggestion instead of a silent match.
    const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(args).options(desc).positional(positional).style(style).run(), vm);
  } catch (const po::unknown_option& e) {
    const std::string suggestion = closest_flag(command, e.get_option_name());
    MACA_THROW(Error, "maca {}: unknown option '{}'{}; see 'maca {} --help'", command.name, e.get_option_name(),
               suggestion.empty() ? "" : fmt::format(" (did you mean '--{}'?)", suggestion), command.name);
  } catch (const po::error& e) {
    MACA_THROW(Error, "maca {}: {}; see 'maca {} --help'", command.name, e.what(), command.name);
  }
  return vm;
}

config::Config resolve(const Command& command, const po::variables_map& vm) {
  config::Config cfg(config::builtin_schema());
  if (vm.count("config")) cfg.merge_yaml_file(vm["config"].as<std::string>());
  for (const auto* list : {&command.flags, &global_flags()}) {
    for (const Flag& f : *list) {
      if (!vm.count(f.name)) continue;
      if (f.value_name.empty()) {
        if (vm[f.name].as<bool>()) cfg.set(f.key, "true", "--" + f.name);
      } else {
        cfg.set(f.key, vm[f.name].as<std::string>(), "--" + f.name);
      }
    }
  }
  if (vm.count("set"))
    for (const std::string& a : vm["set"].as<std::vector<std::string>>()) cfg.merge_assignment(a);
  return cfg;
}

}  // namespace

std::string command_help(const Command& command) {
  std::string usage = fmt::format("usage: maca {} [options]", command.name);
  if (!command.positional_flag.empty()) {
    for (const Flag& f : command.flags)
      if (f.name == command.positional_flag) usage += fmt::format(" [{}]", f.value_name);
  }
  std::ostringstream options;
  options << describe_options(command);
  std::string text = fmt::format("{}\n\n{}\n\n{}", usage, command.description, options.str());

  const config::Schema& schema = config::builtin_schema();
  text += "\nConfig keys (defaults < -c FILE < flags < --set KEY=VALUE; in YAML as nested maps or dotted keys):\n";
  for (const std::string& section : command.sections) {
    for (const config::Option& o : schema.options()) {
      if (!o.key.starts_with(section + ".")) continue;
      text += fmt::format("  {} = {}   ({}{})\n      {}\n", o.key, shown_default(o.default_value),
                          config::describe(o.type()), o.check ? ", " + o.check->description : "", o.help);
    }
  }
  return text;
}

int run_command(const Command& command, const std::vector<std::string>& args) {
  const po::variables_map vm = parse(command, describe_options(command), args);
  if (vm.count("help")) {
    std::cout << command_help(command);
    return 0;
  }
  const config::Config cfg = resolve(command, vm);
  // Rank 0 speaks for the job; the other ranks report warnings and errors.
  const auto level = spdlog::level::from_str(cfg.get_string("run.log_level"));
  spdlog::set_level(parallel::world().rank() == 0 ? level : std::max(level, spdlog::level::warn));
  std::string yaml = cfg.to_yaml();
  while (!yaml.empty() && yaml.back() == '\n') yaml.pop_back();
  spdlog::log(command.logs_config ? spdlog::level::info : spdlog::level::debug, "maca {}: resolved config:\n{}",
              command.name, yaml);
  return command.run(cfg);
}

}  // namespace maca::cli
