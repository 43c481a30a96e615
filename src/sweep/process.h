// Starting and waiting for child processes: the `maca quantize` of each
// local point and `sbatch`.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace maca::sweep {

// Starts `program` with `args` (argv[1..]) in the same environment; with a
// `log`, stdout and stderr are appended to that file, else inherited. Throws
// maca::Error when the program cannot be started.
pid_t spawn(const std::filesystem::path& program, const std::vector<std::string>& args,
            const std::filesystem::path& log = {});

// Waits for `pid`; returns its exit code, or 128 + the signal that killed it.
int wait_exit(pid_t pid);

// The first executable `name` on $PATH; empty when there is none.
std::filesystem::path find_on_path(const std::string& name);

// This process's own executable (/proc/self/exe), to run points with the same maca.
std::filesystem::path self_executable();

}  // namespace maca::sweep
