#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <random>
#include <string>

#include "calib/sampler.h"
#include "calib/summary.h"
#include "core/error.h"

using namespace maca;
using namespace maca::calib;

namespace {

std::vector<int32_t> iota_stream(int64_t n) {
  std::vector<int32_t> s(static_cast<size_t>(n));
  std::iota(s.begin(), s.end(), 0);
  return s;
}

SamplerOptions maca_options(const std::string& mode) {
  SamplerOptions opt;
  opt.kind = "maca";
  opt.mode = mode;
  opt.n_samples = 16;
  return opt;
}

double total_weight(const CalibSet& set) {
  double sum = 0;
  for (size_t s = 0; s < set.sequences.size(); ++s)
    for (int64_t t = 0; t < std::ssize(set.sequences[s].tokens); ++t) sum += set.row_weight(s, t);
  return sum;
}

// The message of the ConfigError `opt` raises.
std::string config_error(const SamplerOptions& opt) {
  try {
    validate(opt);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return {};
}

// Every crop is a contiguous piece of the iota stream.
void expect_contiguous(const CalibSet& set) {
  for (const auto& s : set.sequences)
    for (size_t t = 1; t < s.tokens.size(); ++t) ASSERT_EQ(s.tokens[t], s.tokens[t - 1] + 1);
}

}  // namespace

TEST(CalibSampler, PositionWeightsOfTheDefaultLengths) {
  const std::vector<double> w = prefix_position_weights({128, 256, 512, 1024, 2048}, {});
  ASSERT_EQ(w.size(), 2048u);
  // ω(t) = Σ_{ℓ_k ≥ t} 1/ℓ_k for uniform β (β_k·K = 1).
  EXPECT_DOUBLE_EQ(w[0], 31.0 / 2048);    // t = 1
  EXPECT_DOUBLE_EQ(w[127], 31.0 / 2048);  // t = 128
  EXPECT_DOUBLE_EQ(w[128], 15.0 / 2048);  // t = 129
  EXPECT_DOUBLE_EQ(w[511], 7.0 / 2048);   // t = 512
  EXPECT_DOUBLE_EQ(w[1024], 1.0 / 2048);  // t = 1025
  EXPECT_DOUBLE_EQ(w[2047], 1.0 / 2048);  // t = 2048
  // Total mass per sequence is K.
  EXPECT_NEAR(std::accumulate(w.begin(), w.end(), 0.0), 5.0, 1e-12);
}

TEST(CalibSampler, PositionWeightsWithBeta) {
  // β = (3, 1) → (0.75, 0.25): ω(t ≤ 2) = 0.75·2/2 + 0.25·2/4 = 0.875, ω(3..4) = 0.125.
  const std::vector<double> w = prefix_position_weights({2, 4}, {3, 1});
  ASSERT_EQ(w.size(), 4u);
  EXPECT_DOUBLE_EQ(w[0], 0.875);
  EXPECT_DOUBLE_EQ(w[1], 0.875);
  EXPECT_DOUBLE_EQ(w[2], 0.125);
  EXPECT_DOUBLE_EQ(w[3], 0.125);
}

TEST(CalibSampler, PrefixPutsThirtyEightPercentOfTheMassOnTheFirst128Positions) {
  const CalibSet set = sample_calibration(iota_stream(10000), maca_options("prefix"));
  ASSERT_EQ(set.sequences.size(), 16u);
  for (const auto& s : set.sequences) EXPECT_EQ(s.tokens.size(), 2048u);
  expect_contiguous(set);
  const CalibSummary sum = summarize(set);
  EXPECT_NEAR(sum.head_mass_fraction, 0.3875, 1e-12);
  EXPECT_EQ(sum.tokens, 16 * 2048);
  EXPECT_NE(to_string(sum).find("38.75 %"), std::string::npos) << to_string(sum);

  // Token normalization (ablation) and the fixed sampler: 128/2048 = 6.25 %.
  SamplerOptions token = maca_options("prefix");
  token.normalize = "token";
  const CalibSet plain = sample_calibration(iota_stream(10000), token);
  EXPECT_TRUE(plain.position_weight.empty());
  EXPECT_NEAR(summarize(plain).head_mass_fraction, 0.0625, 1e-12);
  SamplerOptions fixed;
  fixed.n_samples = 4;
  EXPECT_NEAR(summarize(sample_calibration(iota_stream(10000), fixed)).head_mass_fraction, 0.0625, 1e-12);
}

TEST(CalibSampler, FixedCropsAreUniformlyWeighted) {
  SamplerOptions opt;
  opt.n_samples = 7;
  opt.seq_len = 100;
  const CalibSet set = sample_calibration(iota_stream(1000), opt);
  ASSERT_EQ(set.sequences.size(), 7u);
  EXPECT_TRUE(set.position_weight.empty());
  for (const auto& s : set.sequences) {
    EXPECT_EQ(s.tokens.size(), 100u);
    EXPECT_EQ(s.weight, 1.0);
  }
  expect_contiguous(set);
  EXPECT_EQ(set.total_tokens(), 700);
  // A stream exactly as long as a crop has one possible start.
  const CalibSet whole = sample_calibration(iota_stream(100), opt);
  for (const auto& s : whole.sequences) EXPECT_EQ(s.tokens.front(), 0);
}

TEST(CalibSampler, CropsCountsAndPerClassMass) {
  SamplerOptions opt = maca_options("crops");
  opt.n_samples = 128;
  const CalibSet set = sample_calibration(iota_stream(5000), opt);
  // B = 128·2048, count_k = round(B / (5·ℓ_k)).
  const CalibSummary sum = summarize(set);
  const std::vector<std::pair<int64_t, int64_t>> expected = {
      {128, 410}, {256, 205}, {512, 102}, {1024, 51}, {2048, 26}};
  EXPECT_EQ(sum.length_counts, expected);
  EXPECT_TRUE(set.position_weight.empty());
  expect_contiguous(set);
  // Each length class carries N·K·β_k = 128 of the total N·K = 640.
  std::map<size_t, double> mass;
  for (const auto& s : set.sequences) mass[s.tokens.size()] += s.weight * static_cast<double>(s.tokens.size());
  for (const auto& [len, m] : mass) EXPECT_NEAR(m, 128.0, 1e-9) << "length " << len;
  EXPECT_NEAR(total_weight(set), 640.0, 1e-6);  // a sum of 262144 rows
  // Within a class every sequence has the same weight, proportional to 1/(count·ℓ).
  EXPECT_DOUBLE_EQ(set.sequences.front().weight, 0.2 * 640 / (410.0 * 128));
}

TEST(CalibSampler, CropsWithBetaAndTokenNormalization) {
  SamplerOptions opt = maca_options("crops");
  opt.n_samples = 2;
  opt.lengths = {4, 8};
  opt.seq_len = 8;
  opt.weights = {1, 3};
  const CalibSet set = sample_calibration(iota_stream(50), opt);
  // B = 16: count = round(16/8) = 2 crops of 4, round(16/16) = 1 crop of 8.
  const std::vector<std::pair<int64_t, int64_t>> expected = {{4, 2}, {8, 1}};
  EXPECT_EQ(summarize(set).length_counts, expected);
  // Mass N·K·β_k: 4·0.25 = 1 on the short crops, 4·0.75 = 3 on the long one.
  EXPECT_DOUBLE_EQ(set.sequences[0].weight * 4 * 2, 1.0);
  EXPECT_DOUBLE_EQ(set.sequences[2].weight * 8, 3.0);

  opt.normalize = "token";
  for (const auto& s : sample_calibration(iota_stream(50), opt).sequences) EXPECT_EQ(s.weight, 1.0);
}

TEST(CalibSampler, CropsKeepAtLeastOnePerLength) {
  SamplerOptions opt = maca_options("crops");
  opt.n_samples = 1;
  opt.lengths = {10, 1000};
  opt.seq_len = 1000;
  // B = 1000: 50 crops of 10 and round(0.5) → max(1, ·) = 1 crop of 1000.
  const std::vector<std::pair<int64_t, int64_t>> expected = {{10, 50}, {1000, 1}};
  EXPECT_EQ(summarize(sample_calibration(iota_stream(2000), opt)).length_counts, expected);
}

TEST(CalibSampler, DeterministicFromTheSeed) {
  for (const std::string kind : {"fixed", "prefix", "crops"}) {
    SamplerOptions opt = kind == "fixed" ? SamplerOptions{} : maca_options(kind);
    opt.n_samples = 8;
    const auto stream = iota_stream(100000);
    const CalibSet a = sample_calibration(stream, opt);
    const CalibSet b = sample_calibration(stream, opt);
    opt.seed = 1;
    const CalibSet c = sample_calibration(stream, opt);
    ASSERT_EQ(a.sequences.size(), b.sequences.size());
    bool differs = false;
    for (size_t i = 0; i < a.sequences.size(); ++i) {
      EXPECT_EQ(a.sequences[i].tokens, b.sequences[i].tokens) << kind;
      EXPECT_EQ(a.sequences[i].weight, b.sequences[i].weight) << kind;
      differs = differs || a.sequences[i].tokens != c.sequences[i].tokens;
    }
    EXPECT_TRUE(differs) << kind;
  }
}

TEST(CalibSampler, SameStartsOnEveryStandardLibrary) {
  // Pinned: std::mt19937_64 is fully specified and the bounded draw is ours.
  SamplerOptions opt;
  opt.n_samples = 3;
  opt.seq_len = 1;
  const CalibSet set = sample_calibration(iota_stream(1000), opt);
  std::mt19937_64 rng(0);
  for (const auto& s : set.sequences) EXPECT_EQ(s.tokens[0], static_cast<int32_t>(rng() % 1000));
}

TEST(CalibSampler, ValidationNamesTheKey) {
  SamplerOptions opt;
  opt.kind = "foo";
  std::string msg = config_error(opt);
  EXPECT_NE(msg.find("calib.sampler"), std::string::npos) << msg;
  EXPECT_NE(msg.find("fixed|maca"), std::string::npos) << msg;

  opt = SamplerOptions{};
  opt.n_samples = 0;
  EXPECT_NE(config_error(opt).find("calib.n_samples"), std::string::npos);
  opt = SamplerOptions{};
  opt.mode = "window";
  EXPECT_NE(config_error(opt).find("calib.maca.mode"), std::string::npos);
  opt = SamplerOptions{};
  opt.normalize = "batch";
  EXPECT_NE(config_error(opt).find("calib.maca.normalize"), std::string::npos);

  for (const std::vector<int64_t>& bad : {std::vector<int64_t>{}, {256, 128}, {128, 128}, {0, 128}}) {
    opt = SamplerOptions{};
    opt.lengths = bad;
    EXPECT_NE(config_error(opt).find("calib.maca.lengths"), std::string::npos);
  }
  for (const std::vector<double>& bad : {std::vector<double>{1, 1}, {1, 1, 1, 1, -1}, {0, 0, 0, 0, 0}}) {
    opt = SamplerOptions{};
    opt.weights = bad;
    EXPECT_NE(config_error(opt).find("calib.maca.weights"), std::string::npos);
  }
  opt = maca_options("prefix");
  opt.seq_len = 4096;
  msg = config_error(opt);
  EXPECT_NE(msg.find("calib.seq_len"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2048"), std::string::npos) << msg;
}

TEST(CalibSampler, StreamShorterThanTheLongestCrop) {
  try {
    sample_calibration(iota_stream(1000), maca_options("crops"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("has 1000 tokens"), std::string::npos) << msg;
    EXPECT_NE(msg.find("at least 2048"), std::string::npos) << msg;
  }
}
