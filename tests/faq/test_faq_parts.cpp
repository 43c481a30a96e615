// FAQ's parts on hand-made inputs: the hard filters, the trimmed mean and
// z-normalized group competition, packing to the token budget with mixing and
// per-sample weights, prompt templates, and the calibration-set file (round
// trip, and clear errors for damaged or foreign files).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "calib/calib_file.h"
#include "core/error.h"
#include "faq/filters.h"
#include "faq/options.h"
#include "faq/packing.h"
#include "faq/selection.h"
#include "gen/options.h"

namespace maca::faq {
namespace {

namespace fs = std::filesystem;

TEST(Filters, RepeatRatioCountsRepeatedNgrams) {
  const std::vector<int32_t> t = {1, 2, 3, 4, 1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(repeat_ratio(t, 4), 1.0 - 4.0 / 5.0);  // 1234 twice among 5 four-grams
  EXPECT_DOUBLE_EQ(repeat_ratio(t, 1), 1.0 - 4.0 / 8.0);
  EXPECT_DOUBLE_EQ(repeat_ratio(t, 9), 0.0);  // shorter than n
  const std::vector<int32_t> loop(100, 7);
  EXPECT_GT(repeat_ratio(loop, 4), 0.95);
}

TEST(Filters, JudgeNamesTheFirstFailedCheck) {
  const FilterOptions opt{.min_new_tokens = 4, .repeat_ngram = 2, .max_repeat = 0.5, .drop_truncated = false};
  gen::Generated g;
  g.reason = gen::StopReason::StopId;
  const std::vector<int32_t> ok = {1, 2, 3, 4, 5}, shorter = {1, 2}, loop = {1, 1, 1, 1, 1, 1};
  EXPECT_EQ(judge(g, {}, "", opt), Verdict::Empty);
  EXPECT_EQ(judge(g, ok, " \n\t", opt), Verdict::Empty);
  EXPECT_EQ(judge(g, shorter, "ab", opt), Verdict::TooShort);
  EXPECT_EQ(judge(g, loop, "aaaaaa", opt), Verdict::Repetition);
  EXPECT_EQ(judge(g, ok, "abcde", opt), Verdict::Ok);
  g.reason = gen::StopReason::MaxTokens;
  EXPECT_EQ(judge(g, ok, "abcde", opt), Verdict::Ok);
  FilterOptions strict = opt;
  strict.drop_truncated = true;
  EXPECT_EQ(judge(g, ok, "abcde", strict), Verdict::Truncated);
}

TEST(Selection, TrimmedMeanDropsBothEnds) {
  const std::vector<double> v = {100, 1, 3, 2};
  EXPECT_DOUBLE_EQ(trimmed_mean(v, 0.25), 2.5);
  EXPECT_DOUBLE_EQ(trimmed_mean(v, 0.0), 26.5);
  EXPECT_DOUBLE_EQ(trimmed_mean(std::vector<double>{4, 6}, 0.45), 5.0);  // never drops everything
  EXPECT_DOUBLE_EQ(trimmed_mean(std::vector<double>{}, 0.1), 0.0);
}

TEST(Selection, BestZScoresWinAmongThoseThatPassed) {
  const std::vector<Contender> g = {{true, 1.0}, {true, 3.0}, {true, 2.0}, {false, 5.0}};
  const GroupResult r = compete(g, 2, true);
  EXPECT_EQ(r.winners, (std::vector<int64_t>{1, 2}));
  const double sd = std::sqrt(2.0 / 3.0);
  EXPECT_NEAR(r.z[0], -1 / sd, 1e-12);
  EXPECT_NEAR(r.z[1], 1 / sd, 1e-12);
  EXPECT_NEAR(r.z[2], 0.0, 1e-12);
  EXPECT_EQ(r.z[3], 0.0);
  // Ties keep the lower index first; no ranking takes passing ones in order.
  EXPECT_EQ(compete(std::vector<Contender>{{true, 2}, {true, 2}}, 1, true).winners, std::vector<int64_t>{0});
  EXPECT_EQ(compete(g, 2, false).winners, (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(compete(std::vector<Contender>{{false, 1}}, 1, true).winners.empty());
}

TEST(Selection, ActivationScoreIsMinusTheMeanSquaredLogRatio) {
  const std::vector<double> a = {1, 2, 4}, b = {1, 1, 1};
  EXPECT_DOUBLE_EQ(activation_score(a, a), 0.0);
  const double l2 = std::log(2.0);
  EXPECT_NEAR(activation_score(a, b), -(0 + l2 * l2 + 4 * l2 * l2) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(activation_score(a, b), activation_score(b, a));
  EXPECT_DOUBLE_EQ(activation_score(std::vector<double>{0, 2}, std::vector<double>{5, 2}), 0.0);  // zero channel skipped
}

calib::CalibSample sample(std::vector<int32_t> tokens, const std::string& kind) {
  calib::CalibSample s;
  s.tokens = std::move(tokens);
  s.kind = kind;
  return s;
}

TEST(Packing, ConcatKeepsTheBudgetAndFillsShortfallsWithOriginals) {
  PackInput in;
  in.winners = {sample({1, 2, 3, 4, 5}, "regenerated"), sample({6, 7, 8, 9, 10, 11, 12}, "regenerated"),
                sample({13, 14, 15, 16}, "regenerated")};
  for (int i = 0; i < 5; ++i) in.originals.push_back(sample({100 + i, 100 + i, 100 + i, 100 + i}, "original"));
  in.seq_len = 4;
  PackResult r = pack(in);
  ASSERT_EQ(r.samples.size(), 5u);  // the original set's count
  EXPECT_EQ(r.regenerated, 4);
  EXPECT_EQ(r.shortfall, 1);
  EXPECT_EQ(r.samples[1].tokens, (std::vector<int32_t>{5, 6, 7, 8}));  // windows cross winner boundaries
  EXPECT_EQ(r.samples[4].tokens, in.originals[4].tokens);
  in.mix = 0.4;  // 3 regenerated, 2 original
  r = pack(in);
  EXPECT_EQ(r.regenerated, 3);
  EXPECT_EQ(r.original, 2);
  EXPECT_EQ(r.shortfall, 0);
  EXPECT_EQ(r.samples[3].tokens, in.originals[3].tokens);
  for (const auto& s : r.samples) EXPECT_EQ(s.weight, 1.0);
}

TEST(Packing, TruncateCutsEachWinnerAndNormalizesPerSample) {
  PackInput in;
  in.winners = {sample({1, 2, 3, 4, 5, 6}, "regenerated"), sample({7, 8}, "regenerated")};
  in.originals = {sample({9, 9, 9, 9}, "original")};
  in.seq_len = 4;
  in.concat = false;
  in.normalize = true;
  in.mix = 1.0 / 3.0;  // one original per two winners
  const PackResult r = pack(in);
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples[0].tokens.size(), 4u);
  EXPECT_EQ(r.original, 1);
  const double mean = (4 + 2 + 4) / 3.0;
  EXPECT_DOUBLE_EQ(r.samples[1].weight, mean / 2);
  EXPECT_DOUBLE_EQ(r.samples[0].weight, mean / 4);
}

TEST(Prompts, TemplatesNeedTheirPlaceholder) {
  EXPECT_EQ(apply_prompt("<{sample}|{sample}>", "x", "faq.prompt_text"), "<x|x>");
  EXPECT_THROW(apply_prompt("no placeholder", "x", "faq.prompt_text"), ConfigError);
  EXPECT_EQ(gen::apply_template("[u]{prompt}[a]", "hi", "gen.template"), "[u]hi[a]");
  EXPECT_THROW(gen::apply_template("[u]", "hi", "gen.template"), ConfigError);
  EXPECT_NE(builtin_prompt("elaborate-v1").find("{sample}"), std::string::npos);
  EXPECT_THROW(builtin_prompt("elaborate-v0"), ConfigError);
}

class CalibFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("maca_calib_file_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write_raw(const std::string& name, const std::string& text) const { std::ofstream(dir_ / name) << text; }
  fs::path dir_;
};

TEST_F(CalibFile, RoundTrips) {
  calib::CalibSetFile f;
  f.vocab = 256;
  f.seq_len = 4;
  f.provenance = {{"teacher", {{"path", "t.gguf"}}}};
  f.samples = {sample({1, 2, 3, 4}, "regenerated"), sample({5, 6}, "original")};
  f.samples[0].text = "caf\xc3\xa9 \"quoted\"\n";
  f.samples[1].weight = 2.5;
  calib::write_calib_set_file(dir_ / "set.json", f);
  ASSERT_TRUE(calib::is_calib_set_file(dir_ / "set.json"));
  const calib::CalibSetFile g = calib::read_calib_set_file(dir_ / "set.json", 300);
  ASSERT_EQ(g.samples.size(), 2u);
  EXPECT_EQ(g.samples[0].tokens, f.samples[0].tokens);
  EXPECT_EQ(g.samples[0].text, f.samples[0].text);
  EXPECT_EQ(g.samples[1].weight, 2.5);
  EXPECT_EQ(g.provenance, f.provenance);
  const calib::CalibSet set = g.to_calib_set();
  EXPECT_EQ(set.sequences[1].weight, 2.5);
  EXPECT_EQ(set.sequences[1].index, 1);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const FileError& e) {
    return e.what();
  }
  return "no FileError";
}

TEST_F(CalibFile, DamagedOrForeignFilesAreClearErrors) {
  const std::string head = R"({"format": "maca-calib-set", "version": 1, "vocab": 256, )";
  write_raw("bad_token.json", head + R"("samples": [{"tokens": [1, 2]}, {"tokens": [3, 999]}]})");
  EXPECT_NE(
      message_of([&] { calib::read_calib_set_file(dir_ / "bad_token.json", 256); }).find("sample 1 token 1 is 999"),
      std::string::npos);
  write_raw("version.json", R"({"format": "maca-calib-set", "version": 7, "vocab": 256, "samples": []})");
  EXPECT_NE(message_of([&] { calib::read_calib_set_file(dir_ / "version.json", 256); }).find("version 7"),
            std::string::npos);
  write_raw("empty.json", head + R"("samples": []})");
  EXPECT_NE(message_of([&] { calib::read_calib_set_file(dir_ / "empty.json", 256); }).find("empty"), std::string::npos);
  write_raw("vocab.json", head + R"("samples": [{"tokens": [1]}]})");
  EXPECT_NE(message_of([&] { calib::read_calib_set_file(dir_ / "vocab.json", 100); }).find("another model"),
            std::string::npos);
  write_raw("weight.json", head + R"("samples": [{"tokens": [1], "weight": 0}]})");
  EXPECT_NE(message_of([&] { calib::read_calib_set_file(dir_ / "weight.json", 256); }).find("weight"),
            std::string::npos);
  write_raw("truncated.json", head + R"("samples": [{"tokens": [1)");
  EXPECT_NE(message_of([&] { calib::read_calib_set_file(dir_ / "truncated.json", 256); }).find("not valid JSON"),
            std::string::npos);
  write_raw("other.json", R"({"format": "something-else"})");
  EXPECT_FALSE(calib::is_calib_set_file(dir_ / "other.json"));
  EXPECT_FALSE(calib::is_calib_set_file(dir_ / "missing.json"));
}

}  // namespace
}  // namespace maca::faq
