// The data-file and model search paths, with temporary directories.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "settings/options.h"
#include "config/search.h"
#include "core/error.h"

namespace maca::config {
namespace {

namespace fs = std::filesystem;

// Sets an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? setenv(name, value->c_str(), 1) : unsetenv(name);
  }
  ~ScopedEnv() { old_ ? setenv(name_, old_->c_str(), 1) : unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("maca_search_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path touch(const fs::path& rel) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
    return p;
  }

  template <typename Fn>
  std::string error_of(Fn&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }

  fs::path root_;
};

TEST_F(SearchTest, ExplicitPathWins) {
  const fs::path p = touch("explicit/text.raw");
  const Config cfg(builtin_schema());
  EXPECT_EQ(find_data_file(p.string(), cfg), p);
}

TEST_F(SearchTest, EnvThenSearchPathThenHomeCache) {
  touch("env/corpus/a.txt");
  touch("extra/corpus/a.txt");
  touch("extra/corpus/b.txt");
  touch("home/.cache/maca/data/corpus/c.txt");
  const ScopedEnv data_dir("MACA_DATA_DIR", (root_ / "env").string());
  const ScopedEnv home("HOME", (root_ / "home").string());
  Config cfg(builtin_schema());
  cfg.set("data.search_path", (root_ / "nothing").string() + "," + (root_ / "extra").string(), "test");
  EXPECT_EQ(find_data_file("corpus/a.txt", cfg), root_ / "env/corpus/a.txt");
  EXPECT_EQ(find_data_file("corpus/b.txt", cfg), root_ / "extra/corpus/b.txt");
  EXPECT_EQ(find_data_file("corpus/c.txt", cfg), root_ / "home/.cache/maca/data/corpus/c.txt");

  const auto dirs = data_search_dirs(cfg);
  ASSERT_EQ(dirs.size(), 6u);
  EXPECT_EQ(dirs[0], root_ / "env");
  EXPECT_EQ(dirs[2], root_ / "extra");
}

TEST_F(SearchTest, MissingFileListsEveryPlace) {
  const ScopedEnv data_dir("MACA_DATA_DIR", (root_ / "env").string());
  const ScopedEnv home("HOME", std::nullopt);
  Config cfg(builtin_schema());
  cfg.set("data.search_path", (root_ / "extra").string(), "test");
  const std::string msg = error_of([&] { find_data_file("corpus/missing.txt", cfg); });
  EXPECT_NE(msg.find("data file 'corpus/missing.txt' not found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(as given)"), std::string::npos) << msg;
  EXPECT_NE(msg.find((root_ / "env/corpus/missing.txt").string() + " ($MACA_DATA_DIR)"), std::string::npos) << msg;
  EXPECT_NE(msg.find((root_ / "extra/corpus/missing.txt").string() + " (data.search_path)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shared/data/corpus/missing.txt (../shared/data from the current directory)"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find("(../shared/data from the source tree)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("$HOME is not set"), std::string::npos) << msg;
}

TEST_F(SearchTest, ModelByShortNameInModelDir) {
  const fs::path gguf = touch("models/SmolLM2-135M-Instruct.Q4_1.gguf");
  const ScopedEnv model_dir("MACA_MODEL_DIR", (root_ / "models").string());
  EXPECT_EQ(find_model("smollm2-135m"), gguf);
  EXPECT_EQ(find_model("SmolLM2-135M-Instruct.Q4_1.gguf"), gguf);
  EXPECT_EQ(find_model(gguf.string()), gguf);
}

TEST_F(SearchTest, QwenCoderShortNamesAreTheFetchedFiles) {
  const fs::path small = touch("models/Qwen2.5-Coder-0.5B-Instruct-Q4_K_M.gguf");
  const fs::path large = touch("models/Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf");
  const ScopedEnv model_dir("MACA_MODEL_DIR", (root_ / "models").string());
  EXPECT_EQ(find_model("qwen2.5-coder-0.5b"), small);
  EXPECT_EQ(find_model("qwen2.5-coder-1.5b"), large);
}

TEST_F(SearchTest, ModelInHomeCache) {
  const fs::path gguf = touch("home/.cache/maca/models/gemma-3-270m-q4_k_m.gguf");
  const ScopedEnv model_dir("MACA_MODEL_DIR", std::nullopt);
  const ScopedEnv home("HOME", (root_ / "home").string());
  EXPECT_EQ(find_model("gemma3-270m"), gguf);
}

TEST_F(SearchTest, MissingModelSaysHowToFetchIt) {
  const ScopedEnv model_dir("MACA_MODEL_DIR", (root_ / "models").string());
  const ScopedEnv home("HOME", (root_ / "home").string());
  std::string msg = error_of([] { find_model("gemma3-270m"); });
  EXPECT_NE(msg.find((root_ / "models/gemma-3-270m-q4_k_m.gguf").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find((root_ / "home/.cache/maca/models/gemma-3-270m-q4_k_m.gguf").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("python3 scripts/fetch_models.py gemma3-270m"), std::string::npos) << msg;
  msg = error_of([] { find_model("llama-9000"); });
  EXPECT_NE(msg.find("known short names: smollm2-135m gemma3-270m qwen2.5-coder-0.5b qwen2.5-coder-1.5b"),
            std::string::npos)
      << msg;
}

}  // namespace
}  // namespace maca::config
