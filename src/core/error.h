// Errors in two tiers (style.md §6):
//  - maca::Error: a user mistake or bad input (config, file, unsupported model).
//    The message says what, where (file, tensor, key, rank) and what to do.
//  - MACA_ASSERT: an internal invariant; failure means a bug in maca. The
//    message carries file:line.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace maca {

// A user-facing error. `main` catches it, logs it with the rank prefix and ends
// the job with a non-zero exit code.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Bad or damaged input file; the message names the file (and tensor/key).
class FileError : public Error {
 public:
  using Error::Error;
};

// Invalid configuration; the message names the key.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// The job stopped on request (SIGUSR1/SIGTERM, e.g. a Slurm time limit) after
// committing its last checkpoint; rerunning the same command resumes. Exit
// code kStoppedExitCode (EX_TEMPFAIL), which slurm/quantize.sbatch requeues on.
class Stopped : public Error {
 public:
  using Error::Error;
};
inline constexpr int kStoppedExitCode = 75;

[[noreturn]] void assert_fail(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace maca

// Throws maca::Error (or a subclass) with an fmt-formatted message.
#define MACA_THROW(ErrorType, ...) throw ErrorType(fmt::format(__VA_ARGS__))

// User-level check: throws maca::Error with the formatted message when `cond` is false.
#define MACA_CHECK(cond, ...)                    \
  do {                                           \
    if (!(cond)) MACA_THROW(::maca::Error, __VA_ARGS__); \
  } while (0)

// Internal invariant: reports the expression and file:line when it fails.
#define MACA_ASSERT(cond, ...)                                                   \
  do {                                                                           \
    if (!(cond)) ::maca::assert_fail(#cond, __FILE__, __LINE__, fmt::format("" __VA_ARGS__)); \
  } while (0)
