// The `maca` command line: subcommand dispatch, logging setup and top-level
// error handling (user errors are logged with the rank prefix and give exit
// code 1; internal errors give exit code 2).
#pragma once

namespace maca::cli {

int run(int argc, char** argv);

}  // namespace maca::cli
