// The KV-cached block forward against the packed one on the tiny models of
// every architecture: feeding a sequence in chunks (prefill) and then one
// token at a time through a KvCache gives the logits of the whole-sequence
// forward at every position, for two sequences sharing the steps; gemma3's
// window of 4 with chunks of 3 makes its sliding layers shift their rows.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backend/context.h"
#include "core/error.h"
#include "io/model_source.h"
#include "model/model.h"

namespace maca::model {
namespace {

namespace fs = std::filesystem;

class KvCacheParity : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path dir_ = fs::path(MACA_FIXTURES) / "model" / GetParam();
  std::unique_ptr<io::ModelSource> src_ = io::open_model(dir_);
  std::unique_ptr<backend::Context> ctx_ = backend::Context::create(Device::cpu());
  Model model_{*src_, *ctx_};
};

Tensor packed_logits(const Model& m, std::span<const int32_t> ids) {
  const std::vector<int64_t> lens = {static_cast<int64_t>(ids.size())};
  Tensor hidden = m.embed(ids);
  for (int b = 0; b < m.spec().n_layers; ++b) m.forward_block(m.load_block(b), b, hidden, lens);
  return m.logits(hidden);
}

TEST_P(KvCacheParity, ChunkedStepsMatchTheWholeSequence) {
  std::ifstream in(dir_ / "expected.json");
  const auto j = nlohmann::json::parse(in);
  const auto all = j.at("input_ids").get<std::vector<int32_t>>();
  const auto lens = j.at("seq_lens").get<std::vector<int64_t>>();
  ASSERT_EQ(lens.size(), 2u);
  const std::vector<std::vector<int32_t>> seqs = {{all.begin(), all.begin() + lens[0]},
                                                  {all.begin() + lens[0], all.end()}};
  const int64_t vocab = model_.spec().vocab;
  std::vector<BlockWeights> blocks;
  for (int b = 0; b < model_.spec().n_layers; ++b) blocks.push_back(model_.load_block(b));

  // Slot 0 takes chunks of 3, slot 1 chunks of 2, then both go one token at
  // a time once past position 9 (slot 0 finishes first and drops out).
  KvCache cache(model_.spec(), *ctx_, 2, 16, 3);
  std::vector<std::vector<float>> got(2);
  std::vector<int64_t> fed = {0, 0};
  for (;;) {
    KvStep step;
    std::vector<int32_t> ids;
    for (int s = 0; s < 2; ++s) {
      const auto n = static_cast<int64_t>(seqs[s].size());
      if (fed[s] == n) continue;
      const int64_t len = std::min<int64_t>(fed[s] < 9 ? 3 - s : 1, n - fed[s]);
      ids.insert(ids.end(), seqs[s].begin() + fed[s], seqs[s].begin() + fed[s] + len);
      step.slots.push_back(s);
      step.lens.push_back(len);
      fed[s] += len;
    }
    if (step.slots.empty()) break;
    Tensor hidden = model_.embed(ids);
    for (int b = 0; b < model_.spec().n_layers; ++b) model_.forward_block(blocks[b], b, hidden, cache, step);
    cache.advance(step);
    const Tensor logits = model_.logits(hidden);
    int64_t row = 0;
    for (size_t i = 0; i < step.slots.size(); ++i)
      for (int64_t r = 0; r < step.lens[i]; ++r, ++row)
        got[step.slots[i]].insert(got[step.slots[i]].end(), logits.data<float>() + row * vocab,
                                  logits.data<float>() + (row + 1) * vocab);
  }
  EXPECT_EQ(cache.position(0), lens[0]);
  EXPECT_EQ(cache.position(1), lens[1]);

  for (int s = 0; s < 2; ++s) {
    const Tensor want = packed_logits(model_, seqs[s]);
    ASSERT_EQ(static_cast<int64_t>(got[s].size()), want.numel());
    double err = 0, scale = 1;
    for (int64_t i = 0; i < want.numel(); ++i) {
      err = std::max(err, static_cast<double>(std::abs(got[s][i] - want.data<float>()[i])));
      scale = std::max(scale, static_cast<double>(std::abs(want.data<float>()[i])));
    }
    std::printf("%s seq %d: max |logit difference| %.3g (max |logit| %.3g)\n", GetParam().c_str(), s, err, scale);
    EXPECT_LE(err, 1e-5 * scale) << "sequence " << s;
  }
}

TEST_P(KvCacheParity, RefusesAStepPastItsLength) {
  KvCache cache(model_.spec(), *ctx_, 1, 4, 4);
  KvStep step{{0}, {3}};
  cache.advance(step);
  EXPECT_THROW(cache.start_positions(step), Error);
  cache.reset(0);
  EXPECT_EQ(cache.start_positions(step), std::vector<int64_t>{0});
}

INSTANTIATE_TEST_SUITE_P(Archs, KvCacheParity, ::testing::Values("llama", "qwen2", "qwen3", "gemma3"));

}  // namespace
}  // namespace maca::model
