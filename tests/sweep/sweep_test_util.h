// A scratch directory per test with a tiny quantize setup: the fixture llama
// (tests/fixtures/model/llama), a pre-tokenized calibration file and a base
// config that quantizes it in well under a second (no evaluation: the
// fixture has no tokenizer).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sweep_test {

namespace fs = std::filesystem;

inline void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class ScratchDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("maca_sweep_{}_{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // base.yaml for the tiny model, with calib.tokens beside it.
  fs::path write_tiny_base() const {
    std::vector<int32_t> ids(4096);
    uint32_t x = 12345;
    for (auto& id : ids) id = static_cast<int32_t>((x = x * 1103515245u + 12345u) >> 16) % 256;
    std::ofstream(dir_ / "calib.tokens", std::ios::binary)
        .write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * 4));
    const fs::path base = dir_ / "base.yaml";
    write_file(base,
               fmt::format("model.path: {}\ncalib.data: {}\ncalib.n_samples: 8\ncalib.seq_len: 64\n"
                           "quant.group_size: 32\neval.fp: false\neval.quantized: false\nrun.threads: 1\n",
                           (fs::path(MACA_FIXTURES) / "model" / "llama").string(), (dir_ / "calib.tokens").string()));
    return base;
  }

  fs::path dir_;
};

}  // namespace sweep_test
