// `maca faq` on a real model (slow): Qwen2.5-Coder-0.5B-Instruct regenerates
// its own calibration samples (self-calibration) in its chat format; the file
// reads back, every regenerated sequence holds the chat markers as special
// tokens, and the selected candidates are the best-scored of their groups.
// Skips when the model file is absent.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "calib/calib_file.h"
#include "common/real_models.h"
#include "common/run_maca.h"

namespace {

namespace fs = std::filesystem;

TEST(FaqReal, QwenSelfCalibrationInItsChatFormat) {
  std::string why;
  const auto model = maca::test_support::find_real_model("qwen2.5-coder-0.5b", why);
  if (!model) GTEST_SKIP() << why;
  const fs::path dir = fs::temp_directory_path() / fmt::format("maca_faq_real_{}", ::getpid());
  fs::remove_all(dir);
  const auto r = test_support::run_maca(fmt::format(
      "faq -c {}/configs/faq-qwen2.5-coder.yaml --teacher qwen2.5-coder-0.5b --run-dir {} "
      "--set calib.n_samples=2 --set calib.seq_len=160 --set faq.source_tokens=24 --set faq.candidates=2 "
      "--set faq.min_new_tokens=8",
      MACA_SOURCE_DIR, dir.string()));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto f = maca::calib::read_calib_set_file(dir / "calib-set.json", 151936);
  ASSERT_EQ(f.samples.size(), 2u);
  const int32_t im_start = 151644;
  int regenerated = 0;
  for (const auto& s : f.samples) {
    EXPECT_EQ(s.tokens.size(), 160u);
    if (s.kind != "regenerated") continue;
    ++regenerated;
    EXPECT_NE(std::find(s.tokens.begin(), s.tokens.end(), im_start), s.tokens.end()) << s.text;
  }
  EXPECT_GE(regenerated, 1);
  for (const auto& g : f.groups) {
    double best = -1e300, selected = -1e300;
    for (const auto& c : g["candidates"]) {
      if (c["filter"] != "ok") continue;
      best = std::max(best, c["score"].get<double>());
      if (c["selected"].get<bool>()) selected = c["score"].get<double>();
    }
    EXPECT_EQ(selected, best);
  }
  fs::remove_all(dir);
}

}  // namespace
