#include "cli/app.h"

#include <fmt/format.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "config/schema.h"
#include "core/error.h"
#include "core/log.h"
#include "parallel/comm.h"

namespace maca::cli {
namespace {

std::string top_help(const std::vector<Command>& commands) {
  std::string text =
      "usage: maca <command> [options]\n\n"
      "maca quantizes the weights of LLMs after training and evaluates them.\n\nCommands:\n";
  for (const Command& c : commands) text += fmt::format("  {:<10}{}\n", c.name, c.summary);
  text +=
      "\n'maca <command> --help' explains a command's options and config keys.\n";
  return text;
}

[[noreturn]] void unknown_command(const std::string& name, const std::vector<Command>& commands) {
  std::string names, closest;
  std::size_t best = std::max<std::size_t>(2, name.size() / 2) + 1;
  for (const Command& c : commands) {
    names += (names.empty() ? "" : ", ") + c.name;
    if (const std::size_t d = config::edit_distance(name, c.name); d < best) best = d, closest = c.name;
  }
  MACA_THROW(Error, "unknown command '{}'{}; the commands are: {}", name,
             closest.empty() ? "" : fmt::format(" (did you mean '{}'?)", closest), names);
}

int dispatch(int argc, char** argv) {
  const std::vector<Command> commands = all_commands();
  if (argc < 2) {
    std::cerr << top_help(commands);
    return 1;
  }
  std::string name = argv[1];
  if (name == "-h" || name == "--help" || name == "help") {
    std::cout << top_help(commands);
    return 0;
  }
  if (name == "--version") name = "version";
  for (const Command& c : commands)
    if (c.name == name) return run_command(c, std::vector<std::string>(argv + 2, argv + argc));
  unknown_command(name, commands);
}

}  // namespace

std::vector<Command> all_commands() { return {quantize_command(), export_command(), eval_command(), generate_command(), faq_command(), inspect_command(), version_command(), sweep_command()}; }

int run(int argc, char** argv) {
  int code = 0;
  try {
    parallel::init_world(&argc, &argv);
    init_logging(parallel::world().rank(), "info");
    code = dispatch(argc, argv);
  } catch (const Stopped& e) {
    spdlog::warn("{}", e.what());
    code = kStoppedExitCode;
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    code = 1;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    spdlog::critical("{}{}", what.starts_with("internal error") ? "" : "internal error: ", what);
    code = 2;
  }
  // A rank that failed alone would leave the others waiting in a collective:
  // end them all (the launcher reports the abort; our message names the rank).
  if (code != 0 && code != kStoppedExitCode && parallel::world().size() > 1) {
    spdlog::error("rank {} of {} failed; aborting the whole job", parallel::world().rank(), parallel::world().size());
    spdlog::default_logger()->flush();
    parallel::world().abort(code);
  }
  parallel::finalize_world();
  return code;
}

}  // namespace maca::cli
