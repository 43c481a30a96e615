// Logging with a rank prefix and levels (spdlog underneath). Call
// init_logging() once at start; then use spdlog::info/warn/error/debug.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace maca {

// Sets the pattern "[time] [r<rank>] level: message" and the level
// ("trace", "debug", "info", "warn", "error"). Throws maca::Error for an unknown level.
void init_logging(int rank, const std::string& level);

}  // namespace maca
