#include <fmt/format.h>

#include "cli/commands.h"

namespace maca::cli {

Command version_command() {
  return {.name = "version",
          .summary = "print the version",
          .description = "Prints maca's version.",
          .sections = {},
          .flags = {},
          .positional_flag = "",
          .logs_config = false,
          .run = [](const config::Config&) {
            fmt::print("maca {}\n", MACA_VERSION);
            return 0;
          }};
}

}  // namespace maca::cli
