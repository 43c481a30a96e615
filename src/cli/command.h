// A `maca` subcommand: its flags, the config sections it reads and what it runs.
//
// Every subcommand takes the global options (-c/--config FILE, --set
// KEY=VALUE, --log-level, --device, --threads). Convenience flags such as
// `--ctx 2048` are shorthands for config keys; their help text and default
// come from the config schema, so each option is documented in one place.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/config.h"

namespace maca::cli {

// A flag that sets one config key: `--ctx 2048` sets eval.ctx. A flag whose
// value_name is empty is a switch: present sets the (bool) key to true.
struct Flag {
  std::string name;        // long name, without the dashes
  std::string key;         // the config key it sets
  std::string value_name;  // "N", "PATH", ...; empty for a switch
};

struct Command {
  std::string name;
  std::string summary;                // one line, for the command list
  std::string description;            // a paragraph, for the command's --help
  std::vector<std::string> sections;  // config sections listed in --help ("model", "eval")
  std::vector<Flag> flags;            // besides the global ones
  std::string positional_flag;        // flag that a bare argument fills ("model" for `inspect PATH`); may be empty
  bool logs_config = true;            // log the resolved config at info level (else at debug level)
  std::function<int(const config::Config&)> run;
};

// Parses `args` (what follows the command name) for `command`, resolves the
// config (defaults < -c FILE < convenience flags < --set), sets the log level,
// logs the resolved config and runs the command; `--help` prints the
// command's help instead. Returns the exit code. Bad flags and bad config are
// maca::Error naming the command.
int run_command(const Command& command, const std::vector<std::string>& args);

// The text of `maca <command> --help`.
std::string command_help(const Command& command);

}  // namespace maca::cli
