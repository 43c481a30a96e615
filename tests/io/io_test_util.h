// Helpers for the io tests: a per-test temporary directory, raw file writing,
// and checks that a call throws maca::FileError with given message parts.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

#include "core/error.h"

namespace maca::test {

// Fixture giving each test a fresh directory, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("maca_") + info->test_suite_name() + "_" + info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

// A safetensors byte string from a raw JSON header and `data_bytes` bytes of data.
inline std::string raw_safetensors(const std::string& header, size_t data_bytes) {
  const uint64_t n = header.size();
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &n, 8);
  return bytes + header + std::string(data_bytes, '\x01');
}

// Runs `f`, expects a maca::FileError whose message contains every part.
template <class F>
void expect_file_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const maca::FileError& e) {
    const std::string msg = e.what();
    for (const std::string& part : parts) EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
    return;
  }
  ADD_FAILURE() << "expected maca::FileError";
}

}  // namespace maca::test
