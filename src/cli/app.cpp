#include "cli/app.h"

#include <cstdio>
#include <string>

#include "core/error.h"
#include "core/log.h"

namespace maca::cli {

int run(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "--help";
  try {
    init_logging(0, "info");
    if (cmd == "--version" || cmd == "version") {
      std::printf("maca %s\n", MACA_VERSION);
      return 0;
    }
    std::printf("usage: maca <command> [options]\n");
    return cmd == "--help" || cmd == "-h" ? 0 : 1;
  } catch (const Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 2;
  }
}

}  // namespace maca::cli
