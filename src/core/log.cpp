#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include "core/error.h"

namespace maca {

void init_logging(int rank, const std::string& level) {
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    MACA_THROW(Error, "unknown log level '{}': use trace, debug, info, warn, error or off", level);
  auto logger = spdlog::stderr_color_mt(fmt::format("maca-r{}", rank));
  logger->set_pattern(fmt::format("[%H:%M:%S] [r{}] %^%l%$: %v", rank));
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

}  // namespace maca
