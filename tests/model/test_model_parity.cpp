// Parity of the CPU forward pass with transformers on tiny random-weight
// models (fixtures from tests/scripts/make_model_fixtures.py): logits of
// every architecture within 1e-4, packing independence, and token_nll
// against a reference computed from the logits.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "backend/context.h"
#include "io/model_source.h"
#include "model/model.h"

namespace maca::model {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  std::vector<int64_t> seq_lens;
  std::vector<int32_t> ids;
  int64_t vocab = 0;
  std::vector<float> logits;  // [sum(seq_lens), vocab]
};

Fixture read_fixture(const fs::path& dir) {
  std::ifstream in(dir / "expected.json");
  const auto j = nlohmann::json::parse(in);
  Fixture f{j.at("seq_lens").get<std::vector<int64_t>>(),
            j.at("input_ids").get<std::vector<int32_t>>(),
            j.at("vocab").get<int64_t>(),
            {}};
  f.logits.resize(f.ids.size() * f.vocab);
  std::ifstream raw(dir / j.at("logits").get<std::string>(), std::ios::binary);
  raw.read(reinterpret_cast<char*>(f.logits.data()), static_cast<std::streamsize>(f.logits.size() * sizeof(float)));
  EXPECT_TRUE(raw) << "short logits file in " << dir;
  return f;
}

// Tolerance for comparing two maca computations that differ only in float
// summation order (gemm blocking): a few ulps of the largest logit.
double rounding_tolerance(const Tensor& logits) {
  double scale = 1.0;
  for (int64_t i = 0; i < logits.numel(); ++i) scale = std::max(scale, std::abs(double{logits.data<float>()[i]}));
  return 1e-6 * scale;
}

// The whole model on packed sequences: embed, every block, logits.
Tensor run(const Model& m, std::span<const int32_t> ids, std::span<const int64_t> seq_lens) {
  Tensor hidden = m.embed(ids);
  for (int b = 0; b < m.spec().n_layers; ++b) m.forward_block(m.load_block(b), b, hidden, seq_lens);
  return m.logits(hidden);
}

class ModelParity : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path dir_ = fs::path(MACA_FIXTURES) / "model" / GetParam();
  std::unique_ptr<io::ModelSource> src_ = io::open_model(dir_);
  std::unique_ptr<backend::Context> ctx_ = backend::Context::create(Device::cpu());
  Model model_{*src_, *ctx_};
  Fixture fx_ = read_fixture(dir_);
};

TEST_P(ModelParity, LogitsMatchTransformers) {
  const Tensor logits = run(model_, fx_.ids, fx_.seq_lens);
  ASSERT_EQ(logits.numel(), static_cast<int64_t>(fx_.logits.size()));
  double err = 0.0, scale = 0.0;
  for (size_t i = 0; i < fx_.logits.size(); ++i) {
    err = std::max(err, static_cast<double>(std::abs(logits.data<float>()[i] - fx_.logits[i])));
    scale = std::max(scale, static_cast<double>(std::abs(fx_.logits[i])));
  }
  std::printf("%s: max |logit error| %.3g (max |logit| %.3g)\n", GetParam().c_str(), err, scale);
  EXPECT_LE(err, 1e-4);
}

TEST_P(ModelParity, PackingMatchesSeparateSequences) {
  const Tensor packed = run(model_, fx_.ids, fx_.seq_lens);
  const double tol = rounding_tolerance(packed);
  int64_t offset = 0;
  for (const int64_t n : fx_.seq_lens) {
    const std::vector<int64_t> one = {n};
    const Tensor alone = run(model_, std::span(fx_.ids).subspan(offset, n), one);
    double err = 0.0;
    for (int64_t i = 0; i < alone.numel(); ++i)
      err = std::max(
          err, static_cast<double>(std::abs(alone.data<float>()[i] - packed.data<float>()[offset * fx_.vocab + i])));
    EXPECT_LE(err, tol) << "sequence at offset " << offset;
    offset += n;
  }
}

TEST_P(ModelParity, TokenNllMatchesLogits) {
  Tensor hidden = model_.embed(fx_.ids);
  for (int b = 0; b < model_.spec().n_layers; ++b) model_.forward_block(model_.load_block(b), b, hidden, fx_.seq_lens);
  const Tensor logits = model_.logits(hidden);
  const int64_t rows = hidden.dim(0), vocab = fx_.vocab;
  const double tol = rounding_tolerance(logits);
  std::vector<int32_t> targets(rows);
  for (int64_t i = 0; i < rows; ++i) targets[i] = static_cast<int32_t>((i * 37 + 5) % vocab);
  std::vector<double> nll(rows);
  model_.token_nll(hidden, targets, nll, /*chunk_rows=*/3);  // uneven chunks on purpose
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = logits.data<float>() + i * vocab;
    double sum = 0.0;
    for (int64_t j = 0; j < vocab; ++j) sum += std::exp(static_cast<double>(row[j]));
    EXPECT_NEAR(nll[i], std::log(sum) - row[targets[i]], tol) << "row " << i;
  }
}

TEST_P(ModelParity, CaptureSeesEachGroupInput) {
  const ModelSpec& s = model_.spec();
  std::vector<std::pair<LinearGroup, Shape>> seen;
  const CaptureFn capture = [&](int block, LinearGroup g, const Tensor& input) {
    EXPECT_EQ(block, 0);
    seen.emplace_back(g, input.shape());
  };
  Tensor hidden = model_.embed(fx_.ids);
  model_.forward_block(model_.load_block(0), 0, hidden, fx_.seq_lens, &capture);
  const int64_t t = hidden.dim(0);
  const std::vector<std::pair<LinearGroup, Shape>> want = {{LinearGroup::Qkv, {t, s.hidden}},
                                                           {LinearGroup::O, {t, s.n_heads * s.head_dim}},
                                                           {LinearGroup::GateUp, {t, s.hidden}},
                                                           {LinearGroup::Down, {t, s.intermediate}}};
  EXPECT_EQ(seen, want);
}

// Under a BufferReuse scope the forward gives the same bytes, and a buffer a
// caller still holds after a call (here the group inputs a capture kept
// without a copy) is never handed to the next call.
TEST_P(ModelParity, BufferReuseKeepsBytesAndHeldBuffers) {
  const Tensor fresh = run(model_, fx_.ids, fx_.seq_lens);
  std::vector<Tensor> held;
  const CaptureFn keep = [&](int, LinearGroup, const Tensor& input) { held.push_back(input); };
  Tensor reused;
  {
    const Model::BufferReuse reuse(model_);
    Tensor hidden = model_.embed(fx_.ids);
    for (int b = 0; b < model_.spec().n_layers; ++b) {
      const BlockWeights w = model_.load_block(b);
      Tensor copy = hidden.clone();  // other values than hidden's, so an overwrite shows
      for (int64_t i = 0; i < copy.numel(); ++i) copy.data<float>()[i] += 1.0f;
      held.clear();
      model_.forward_block(w, b, copy, fx_.seq_lens, &keep);
      ASSERT_EQ(held.size(), 4u);
      std::vector<std::vector<float>> values;  // as the call left them
      for (const Tensor& t : held) values.emplace_back(t.data<float>(), t.data<float>() + t.numel());
      model_.forward_block(w, b, hidden, fx_.seq_lens);  // must not write into them
      for (size_t i = 0; i < held.size(); ++i)
        EXPECT_EQ(std::memcmp(held[i].data<float>(), values[i].data(), held[i].nbytes()), 0)
            << "block " << b << ", group input " << i;
    }
    reused = model_.logits(hidden);
  }
  ASSERT_EQ(reused.numel(), fresh.numel());
  EXPECT_EQ(std::memcmp(reused.data<float>(), fresh.data<float>(), fresh.nbytes()), 0);
}

INSTANTIATE_TEST_SUITE_P(Archs, ModelParity, ::testing::Values("llama", "qwen2", "qwen3", "gemma3"));

}  // namespace
}  // namespace maca::model
