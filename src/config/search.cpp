#include "config/search.h"

#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <utility>

#include "core/error.h"

namespace maca::config {
namespace {

namespace fs = std::filesystem;

// A directory to search and why it is searched (for messages).
struct SearchDir {
  fs::path dir;
  std::string origin;
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// "$NAME is not set" notes for variables that would have added a directory.
void add_env_dir(std::vector<SearchDir>& dirs, std::vector<std::string>& notes, const char* var,
                 const fs::path& sub = {}) {
  const std::string v = env(var);
  if (v.empty())
    notes.push_back(fmt::format("${} is not set", var));
  else
    dirs.push_back({sub.empty() ? fs::path(v) : fs::path(v) / sub, fmt::format("${}", var)});
}

std::vector<SearchDir> labeled_data_dirs(const Config& cfg, std::vector<std::string>& notes) {
  std::vector<SearchDir> dirs;
  add_env_dir(dirs, notes, "MACA_DATA_DIR");
  for (const std::string& d : cfg.get_string_list("data.search_path")) dirs.push_back({d, "data.search_path"});
  dirs.push_back({fs::current_path() / ".." / "shared" / "data", "../shared/data from the current directory"});
  dirs.push_back({fs::path(MACA_SOURCE_DIR) / ".." / "shared" / "data", "../shared/data from the source tree"});
  add_env_dir(dirs, notes, "HOME", fs::path(".cache") / "maca" / "data");
  return dirs;
}

// Returns the first existing dir/name, or throws listing all tried places.
fs::path search(const std::string& what, const std::string& name, const std::vector<SearchDir>& dirs,
                const std::vector<std::string>& notes, const std::string& advice) {
  const fs::path given(name);
  if (fs::exists(given)) return given;
  std::string looked = fmt::format("\n  {} (as given)", fs::absolute(given).string());
  if (!given.is_absolute()) {
    for (const SearchDir& d : dirs) {
      const fs::path p = d.dir / given;
      if (fs::exists(p)) return p.lexically_normal();
      looked += fmt::format("\n  {} ({})", p.lexically_normal().string(), d.origin);
    }
  }
  for (const std::string& n : notes) looked += fmt::format("\n  ({})", n);
  MACA_THROW(Error, "{} '{}' not found; looked in:{}{}", what, name, looked, advice.empty() ? "" : "\n" + advice);
}

// The file names scripts/fetch_models.py gives the models it fetches.
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kModelShortNames = {{
    {"smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf"},
    {"gemma3-270m", "gemma-3-270m-q4_k_m.gguf"},
    {"qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf"},
    {"qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf"},
}};

}  // namespace

std::vector<fs::path> data_search_dirs(const Config& cfg) {
  std::vector<std::string> notes;
  std::vector<fs::path> out;
  for (SearchDir& d : labeled_data_dirs(cfg, notes)) out.push_back(std::move(d.dir));
  return out;
}

fs::path find_data_file(const std::string& name_or_path, const Config& cfg) {
  std::vector<std::string> notes;
  const auto dirs = labeled_data_dirs(cfg, notes);
  return search("data file", name_or_path, dirs, notes,
                "set $MACA_DATA_DIR or data.search_path, or give the file's path");
}

fs::path find_model(const std::string& name_or_path) {
  if (fs::exists(name_or_path)) return name_or_path;
  std::string file = name_or_path;
  std::string advice = "known short names:";
  for (const auto& [short_name, file_name] : kModelShortNames) advice += fmt::format(" {}", short_name);
  advice += "; fetch one with: python3 scripts/fetch_models.py <name>";
  for (const auto& [short_name, file_name] : kModelShortNames) {
    if (name_or_path == short_name) {
      file = file_name;
      advice = fmt::format("fetch it with: python3 scripts/fetch_models.py {}", short_name);
    }
  }
  std::vector<SearchDir> dirs;
  std::vector<std::string> notes;
  add_env_dir(dirs, notes, "MACA_MODEL_DIR");
  add_env_dir(dirs, notes, "HOME", fs::path(".cache") / "maca" / "models");
  const std::string what = file == name_or_path ? "model" : fmt::format("model {} ->", name_or_path);
  return search(what, file, dirs, notes, advice);
}

}  // namespace maca::config
