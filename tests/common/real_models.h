// Locating the real models (scripts/fetch_models.py) from tests: the same
// search `maca` itself uses ($MACA_MODEL_DIR, ~/.cache/maca/models), so a test
// skips exactly when the CLI would say the model is missing.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "config/search.h"
#include "core/error.h"

namespace maca::test_support {

// The model's path, or nullopt with the reason (which names the fetch command) in `why`.
inline std::optional<std::filesystem::path> find_real_model(const std::string& name, std::string& why) {
  try {
    return config::find_model(name);
  } catch (const Error& e) {
    why = e.what();
    return std::nullopt;
  }
}

}  // namespace maca::test_support
