// The `maca` command line: subcommand dispatch and top-level error handling.
// User errors (maca::Error) are logged with the rank prefix and give exit code
// 1; anything else is an internal error and gives exit code 2.
#pragma once

namespace maca::cli {

// Runs `maca <command> [options]` and returns the process exit code.
int run(int argc, char** argv);

}  // namespace maca::cli
