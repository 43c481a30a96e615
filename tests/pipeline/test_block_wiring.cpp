// The block loop feeds each rounder the statistics of the right input: for
// block 0 the q/k/v input is rmsnorm(embeddings), computed here independently
// of the pipeline, and GPTQ on the Hessian of those rows must give exactly
// the weights `maca quantize` wrote. And on real captured activations GPTQ
// must beat RTN on the objective it minimizes, tr((W − Q) H (W − Q)ᵀ), for
// every linear group (a sanity check of the statistics, not of the rounder's
// math, which tests/quant pins against a reference).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <unistd.h>

#include "backend/context.h"
#include "calib/sampler.h"
#include "config/config.h"
#include "common/quantize_with.h"
#include "settings/options.h"
#include "hessian/accumulator.h"
#include "io/model_source.h"
#include "model/model.h"
#include "pipeline/quantize_job.h"
#include "quant/quantize.h"

namespace maca::pipeline {
namespace {

namespace fs = std::filesystem;

const fs::path kLlama = fs::path(MACA_FIXTURES) / "model" / "llama";

std::vector<int32_t> token_stream() {
  std::vector<int32_t> ids(4096);
  uint32_t x = 777;
  for (auto& id : ids) id = static_cast<int32_t>((x = x * 1103515245u + 12345u) >> 16) % 256;
  return ids;
}

// tr((W − Q) H (W − Q)ᵀ) in double.
double objective(const Tensor& w, const std::vector<float>& q, const Tensor& h) {
  const int64_t rows = w.dim(0), n = w.dim(1);
  double total = 0;
  std::vector<double> e(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < n; ++i) e[i] = static_cast<double>(w.data<float>()[r * n + i]) - q[r * n + i];
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) total += e[i] * h.data<float>()[i * n + j] * e[j];
  }
  return total;
}

TEST(BlockWiring, Block0QProjEqualsGptqOnIndependentlyCapturedRows) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("maca_wiring_{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::vector<int32_t> stream = token_stream();
  std::ofstream(dir / "calib.tokens", std::ios::binary)
      .write(reinterpret_cast<const char*>(stream.data()), static_cast<std::streamsize>(stream.size() * 4));
  const config::Config cfg = config::resolve(
      config::builtin_schema(), "",
      {"model.path=" + kLlama.string(), "calib.data=" + (dir / "calib.tokens").string(), "calib.n_samples=6",
       "calib.seq_len=64", "calib.seed=3", "quant.bits=3", "quant.group_size=32", "eval.fp=false",
       "eval.quantized=false", "export.gptq=false", "run.dir=" + (dir / "run").string()});
  run_quantize(cfg);

  calib::SamplerOptions s;
  s.n_samples = 6;
  s.seq_len = 64;
  s.seed = 3;
  const calib::CalibSet set = calib::sample_calibration(stream, s);
  const auto src = io::open_model(kLlama);
  const auto ctx = backend::Context::create(Device::cpu(), 0);
  const model::Model m(*src, *ctx);
  std::vector<int32_t> tokens;
  std::vector<int64_t> lens;
  for (const auto& seq : set.sequences) {
    tokens.insert(tokens.end(), seq.tokens.begin(), seq.tokens.end());
    lens.push_back(static_cast<int64_t>(seq.tokens.size()));
  }
  Tensor h = m.embed(tokens);
  hessian::Accumulator acc(m.context(), m.spec().hidden, hessian::Precision::F32, false);
  const model::CaptureFn add = [&](int, model::LinearGroup, const Tensor& x) { acc.add(x, {}); };
  m.forward_block(m.load_block(0), 0, h, lens, &add, model::LinearGroup::Qkv);
  const Tensor H = acc.finalize_h();
  const std::string name = "model.layers.0.self_attn.q_proj";
  const QuantizedLinear expected = test::quantize_with(src->load(name + ".weight"), &H, nullptr,
                                                       {{"quant.bits", "3"}, {"quant.group_size", "32"}}, name);
  const Tensor got = io::open_model(dir / "run" / "fake_quant")->load(name + ".weight");
  EXPECT_EQ(std::vector<float>(got.data<float>(), got.data<float>() + got.numel()), expected.dequantize());
  fs::remove_all(dir);
}

TEST(BlockWiring, GptqBeatsRtnOnItsObjectiveForEveryGroup) {
  const auto src = io::open_model(kLlama);
  const auto ctx = backend::Context::create(Device::cpu(), 0);
  const model::Model m(*src, *ctx);
  calib::SamplerOptions s;
  s.n_samples = 8;
  s.seq_len = 64;
  const calib::CalibSet set = calib::sample_calibration(token_stream(), s);
  std::vector<int32_t> tokens;
  for (const auto& seq : set.sequences) tokens.insert(tokens.end(), seq.tokens.begin(), seq.tokens.end());
  const std::vector<int64_t> lens(set.sequences.size(), 64);
  Tensor hidden = m.embed(tokens);
  model::BlockWeights w = m.load_block(1);
  m.forward_block(m.load_block(0), 0, hidden, lens);
  std::map<model::LinearGroup, Tensor> H;
  const model::CaptureFn keep = [&](int, model::LinearGroup g, const Tensor& x) {
    hessian::Accumulator acc(m.context(), x.dim(1), hessian::Precision::F64, false);
    acc.add(x, {});
    H[g] = acc.finalize_h();
  };
  m.forward_block(w, 1, hidden, lens, &keep);
  const std::vector<std::pair<model::LinearGroup, const Tensor*>> layers = {
      {model::LinearGroup::Qkv, &w.q}, {model::LinearGroup::Qkv, &w.v},    {model::LinearGroup::O, &w.o},
      {model::LinearGroup::GateUp, &w.up}, {model::LinearGroup::Down, &w.down}};
  for (const int bits : {3, 4}) {
    for (const auto& [g, weight] : layers) {
      test::Settings q{{"quant.bits", std::to_string(bits)}, {"quant.group_size", "32"}};
      const QuantizedLinear gptq = test::quantize_with(*weight, &H[g], nullptr, q, "l");
      q["quant.method"] = "rtn";
      const QuantizedLinear rtn = test::quantize_with(*weight, nullptr, nullptr, q, "l");
      const double eg = objective(*weight, gptq.dequantize(), H[g]), er = objective(*weight, rtn.dequantize(), H[g]);
      EXPECT_LT(eg, er) << model::linear_group_name(g) << " " << bits << " bits";
    }
  }
}

}  // namespace
}  // namespace maca::pipeline
