// Where data files and models are found.
//
// Data (text corpora) and models live outside the repository; configs name
// them either by path or by a short relative name, and these functions turn
// the name into a file, or say every place they looked.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/config.h"

namespace maca::config {

// Directories searched for a relative data name, in order: $MACA_DATA_DIR,
// the entries of `data.search_path`, ../shared/data relative to the current
// directory, <source tree>/../shared/data, ~/.cache/maca/data.
std::vector<std::filesystem::path> data_search_dirs(const Config& cfg);

// `name_or_path` as given when it exists (absolute or relative to the current
// directory); else the first data_search_dirs(cfg) entry holding it. Throws
// maca::Error listing every place it looked.
std::filesystem::path find_data_file(const std::string& name_or_path, const Config& cfg);

// A model by path (HF directory or .gguf file), by file name, or by short name
// ("smollm2-135m" -> SmolLM2-135M-Instruct.Q4_1.gguf, "gemma3-270m" ->
// gemma-3-270m-q4_k_m.gguf), looked up in $MACA_MODEL_DIR and
// ~/.cache/maca/models. Throws maca::Error listing the places it looked and
// the `python3 scripts/fetch_models.py <name>` command that fetches it.
std::filesystem::path find_model(const std::string& name_or_path);

}  // namespace maca::config
