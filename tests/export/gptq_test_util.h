// Helpers for the GPTQ tests: random QuantizedLinear layers with fp16 scales,
// a per-test temporary directory, and error-message checks.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <random>
#include <string>

#include "core/half.h"
#include "core/quantized.h"

namespace maca::test {

// A random layer: codes, zero points (2^(b-1) when symmetric) and positive
// fp16-representable scales; with act-order a random column permutation and
// g_idx[perm[i]] = i / group (dynamic groups).
inline QuantizedLinear random_layer(int64_t rows, int64_t cols, int bits, int64_t group, bool sym, bool act_order,
                                    uint32_t seed) {
  std::mt19937 rng(seed);
  QuantizedLinear q;
  q.rows = rows, q.cols = cols, q.bits = bits, q.group_size = group, q.sym = sym, q.act_order = act_order;
  q.method = "rtn";
  const int64_t g = group < 0 ? cols : group;
  const int64_t groups = (cols + g - 1) / g;
  const int32_t max = (1 << bits) - 1;
  std::uniform_int_distribution<int32_t> code(0, max), zero(0, max);
  std::uniform_real_distribution<float> scale(0.5f, 1.5f);
  q.codes.resize(static_cast<size_t>(rows * cols));
  for (auto& c : q.codes) c = static_cast<uint8_t>(code(rng));
  for (int64_t i = 0; i < groups * rows; ++i) {
    q.zeros.push_back(sym ? 1 << (bits - 1) : zero(rng));
    q.scales.push_back(f16_to_f32(f32_to_f16(scale(rng) / std::sqrt(static_cast<float>(cols)) / (1 << (bits - 1)))));
  }
  q.perm.resize(static_cast<size_t>(cols));
  for (int64_t k = 0; k < cols; ++k) q.perm[k] = static_cast<int32_t>(k);
  if (act_order) std::shuffle(q.perm.begin(), q.perm.end(), rng);
  q.g_idx.resize(static_cast<size_t>(cols));
  for (int64_t i = 0; i < cols; ++i) q.g_idx[q.perm[i]] = static_cast<int32_t>(i / g);
  return q;
}

// Fixture giving each test a fresh directory, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("maca_") + info->test_suite_name() + "_" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';
    dir_ = std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

// Runs `f`, expects an exception of type E whose message contains every part.
template <class E, class F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const std::string& part : parts)
      EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
    return;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return;
  }
  ADD_FAILURE() << "expected an exception";
}

}  // namespace maca::test
