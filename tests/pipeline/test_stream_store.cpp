// Where calibration streams wait between blocks (pipeline/stream_store.h) and
// the plan that picks it (calib.max_resident_gb): f32 in place without a
// copy, spill exact through one shared unlinked file, bf16 rounded to nearest
// even, a clear FileError for a spill directory that cannot be written, and
// batches sized to the limit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "core/half.h"
#include "pipeline/calib_batches.h"
#include "pipeline/stream_store.h"

namespace maca::pipeline {
namespace {

namespace fs = std::filesystem;

Tensor states(int64_t tokens, int64_t hidden, float seed) {
  Tensor x = Tensor::empty({tokens, hidden});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = std::sin(seed + 0.37f * static_cast<float>(i)) * 3.1f;
  return x;
}

std::vector<float> values(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.numel()}; }

class StreamStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("maca_streams_{}_{}", ::getpid(),
                                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<backend::Context> ctx_ = backend::Context::create(Device::cpu());
  fs::path dir_;
};

TEST_F(StreamStore, F32IsTheHeldTensorItself) {
  Tensor x = states(5, 8, 1);
  const void* at = x.raw();
  StoredStream s(*ctx_, x, StreamForm::F32);
  EXPECT_EQ(s.resident_bytes(), 5 * 8 * 4);
  EXPECT_EQ(values(s.copy(*ctx_)), values(x));
  Tensor t = s.take(*ctx_);
  EXPECT_EQ(t.raw(), at);  // no copy: the forward runs in place
  EXPECT_EQ(s.resident_bytes(), 0);
  t.data<float>()[0] = 42;
  s.store(*ctx_, std::move(t));
  EXPECT_EQ(s.copy(*ctx_).data<float>()[0], 42.0f);
}

TEST_F(StreamStore, SpilledStreamsShareOneFileAndComeBackExactly) {
  const auto file = open_spill_file(dir_, 3);
  EXPECT_TRUE(fs::is_empty(dir_)) << "the spill file is unlinked at once";
  std::vector<Tensor> xs;
  std::vector<StoredStream> ss;
  for (int i = 0; i < 3; ++i) {
    xs.push_back(states(7 + i, 16, static_cast<float>(i)));
    xs.back().data<float>()[2] = std::numeric_limits<float>::denorm_min();
    ss.emplace_back(*ctx_, ctx_->clone(xs.back()), StreamForm::Spill, file);
    EXPECT_EQ(ss.back().resident_bytes(), 0);
  }
  for (int i = 2; i >= 0; --i) {
    EXPECT_EQ(values(ss[i].copy(*ctx_)), values(xs[i]));
    Tensor t = ss[i].take(*ctx_);
    EXPECT_EQ(values(t), values(xs[i]));
    for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] += 1;  // a forward
    ss[i].store(*ctx_, std::move(t));
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ss[i].copy(*ctx_).data<float>()[5], xs[i].data<float>()[5] + 1) << i;
}

TEST_F(StreamStore, Bf16RoundsToNearestEvenAtHalfTheBytes) {
  const Tensor x = states(6, 10, 2);
  StoredStream s(*ctx_, ctx_->clone(x), StreamForm::Bf16);
  EXPECT_EQ(s.resident_bytes(), 6 * 10 * 2);
  const Tensor y = s.take(*ctx_);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const float v = x.data<float>()[i];
    ASSERT_EQ(y.data<float>()[i], bf16_to_f32(f32_to_bf16(v))) << i;
    ASSERT_LE(std::fabs(y.data<float>()[i] - v), std::fabs(v) * 0x1p-8f) << i;  // half an ulp of 8 bits
  }
}

TEST_F(StreamStore, AnUnwritableSpillDirectoryNamesThePathAndTheWayOut) {
  fs::create_directories(dir_);
  const fs::path blocker = dir_ / "file";
  std::ofstream(blocker) << "x";
  try {
    open_spill_file(blocker / "sub", 0);
    FAIL() << "no error";
  } catch (const FileError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find((blocker / "sub").string()), std::string::npos) << m;
    EXPECT_NE(m.find("calib.overflow=bf16"), std::string::npos) << m;
  }
}

TEST(StreamPlan, BatchesFitTheLimitOnlyWhenItIsExceeded) {
  const int64_t hidden = 1024;  // 4 KiB per token and stream
  EXPECT_FALSE(streams_exceed(1 << 18, hidden, true, 0.0));  // no limit
  EXPECT_FALSE(streams_exceed(1 << 17, hidden, false, 0.5));  // 0.5 GiB exactly
  EXPECT_TRUE(streams_exceed(1 << 17, hidden, true, 0.5));    // two streams: 1 GiB
  const StreamPlan keep = plan_streams(2048, hidden, true, 0, 0.5, StreamForm::Spill, false);
  EXPECT_EQ(keep.form, StreamForm::F32);
  EXPECT_EQ(keep.batch_tokens, 0);
  const StreamPlan fit = plan_streams(2048, hidden, true, 0, 0.5, StreamForm::Bf16, true);
  EXPECT_EQ(fit.form, StreamForm::Bf16);
  EXPECT_EQ(fit.batch_tokens, 1 << 16);  // 0.5 GiB / 8 KiB per token
  EXPECT_EQ(plan_streams(2048, hidden, true, 0, 0.001, StreamForm::Spill, true).batch_tokens, 2048);  // a sequence
  EXPECT_EQ(plan_streams(2048, hidden, true, 4096, 0.5, StreamForm::Spill, true).batch_tokens, 4096);  // as asked
}

}  // namespace
}  // namespace maca::pipeline
