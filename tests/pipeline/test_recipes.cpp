// Every recipe in configs/ is valid: its keys exist and its values pass the
// schema's checks, and each quantization recipe states a method (the
// evaluation, chat-format and calibration-regeneration recipes, named eval-*,
// chat-* and faq-*, quantize nothing).
#include <gtest/gtest.h>

#include <filesystem>

#include "config/config.h"
#include "settings/options.h"

namespace maca::pipeline {
namespace {

TEST(Recipes, EveryConfigResolves) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(MACA_SOURCE_DIR) / "configs")) {
    if (e.path().extension() != ".yaml") continue;
    SCOPED_TRACE(e.path().string());
    const config::Config cfg = config::resolve(config::builtin_schema(), e.path(), {});
    const std::string name = e.path().filename().string();
    if (!name.starts_with("eval-") && !name.starts_with("chat-") && !name.starts_with("faq-")) {
      EXPECT_NE(cfg.source("quant.method"), "default");
    }
    ++n;
  }
  EXPECT_GE(n, 8);
}

}  // namespace
}  // namespace maca::pipeline
