// The whole job on a GPU against the CPU oracle (label gpu; skipped when no
// GPU is visible): `maca quantize` of the tiny llama with gptq, gptaq, snrq and ksnrq
// on run.device=cuda and =cpu with f64 statistics must round at least 99.9 %
// of the weights to the same value and give perplexities within 0.1 %; the
// model's evaluation and generation on the GPU must match the CPU's.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "backend/context.h"
#include "config/config.h"
#include "eval/perplexity.h"
#include "gen/generator.h"
#include "io/model_source.h"
#include "model/model.h"
#include "pipeline/quantize_job.h"
#include "settings/options.h"

namespace maca::pipeline {
namespace {

namespace fs = std::filesystem;

std::vector<int32_t> ids(int64_t n, uint32_t seed) {
  std::vector<int32_t> out(static_cast<size_t>(n));
  uint32_t x = seed;
  for (auto& id : out) id = static_cast<int32_t>((x = x * 1103515245u + 12345u) >> 16) % 256;
  return out;
}

class QuantizeGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (backend::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
    dir_ = fs::temp_directory_path() / fmt::format("maca_quantize_gpu_{}", ::getpid());
    fs::create_directories(dir_);
    const std::vector<int32_t> calib = ids(4096, 12345);
    std::ofstream(dir_ / "calib.tokens", std::ios::binary)
        .write(reinterpret_cast<const char*>(calib.data()), static_cast<std::streamsize>(calib.size() * 4));
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  fs::path quantize(const std::string& method, const std::string& device) const {
    const std::vector<std::string> sets = {
        fmt::format("model.path={}", (fs::path(MACA_FIXTURES) / "model" / "llama").string()),
        fmt::format("calib.data={}", (dir_ / "calib.tokens").string()),
        "calib.n_samples=8", "calib.seq_len=64", "quant.bits=4", "quant.group_size=32",
        "quant.method=" + method, "quant.hessian_precision=f64", "eval.fp=false", "eval.quantized=false",
        "run.device=" + device, fmt::format("run.dir={}", (dir_ / (method + "_" + device)).string())};
    return run_quantize(config::resolve(config::builtin_schema(), "", sets));
  }

  // Perplexity of a model directory on the CPU over a fixed token stream.
  static double ppl(const fs::path& model_dir) {
    const auto ctx = backend::Context::create(Device::cpu());
    const auto src = io::open_model(model_dir);
    const model::Model m(*src, *ctx);
    eval::PerplexityOptions opt;
    opt.ctx = 64;
    return eval::perplexity(m, ids(64 * 16, 777), opt).ppl;
  }

  fs::path dir_;
};

TEST_F(QuantizeGpu, SameCodesAndPerplexityAsTheCpu) {
  for (const char* method : {"gptq", "gptaq", "snrq", "ksnrq"}) {
    const fs::path gpu = quantize(method, "cuda"), cpu = quantize(method, "cpu");
    const auto g = io::open_model(gpu / "fake_quant"), c = io::open_model(cpu / "fake_quant");
    int64_t same = 0, total = 0;
    for (const std::string& name : c->tensor_names()) {
      if (name.find("_proj.weight") == std::string::npos) continue;
      const Tensor a = g->load(name), b = c->load(name);
      ASSERT_EQ(a.numel(), b.numel()) << name;
      for (int64_t i = 0; i < a.numel(); ++i) same += a.data<float>()[i] == b.data<float>()[i];
      total += a.numel();
    }
    ASSERT_GT(total, 0);
    // f64 statistics: H differs from the CPU's only in the last bits (cuBLAS
    // vs OpenBLAS summation), which flips a code only at exact rounding ties.
    EXPECT_GE(static_cast<double>(same) / static_cast<double>(total), 0.999) << method;
    const double pg = ppl(gpu / "fake_quant"), pc = ppl(cpu / "fake_quant");
    EXPECT_NEAR(pg / pc, 1.0, 1e-3) << method << ": GPU " << pg << ", CPU " << pc;
  }
}

TEST_F(QuantizeGpu, EvaluationAndGreedyGenerationMatchTheCpu) {
  const auto src = io::open_model(fs::path(MACA_FIXTURES) / "model" / "llama");
  const auto cpu = backend::Context::create(Device::cpu()), gpu = backend::Context::create(Device::cuda(0));
  const model::Model mc(*src, *cpu), mg(*src, *gpu);
  eval::PerplexityOptions opt;
  opt.ctx = 64;
  const std::vector<int32_t> stream = ids(64 * 8, 99);
  // fp32 forward: cuBLAS and the GPU's expf differ from the CPU's in the last ulps.
  EXPECT_NEAR(eval::perplexity(mg, stream, opt).ppl / eval::perplexity(mc, stream, opt).ppl, 1.0, 1e-5);

  // Greedy tokens: the logits agree to ~1e-5, so the argmax agrees unless two
  // logits tie that closely; the fixture's prompts have no such near-ties.
  const std::vector<gen::GenerateRequest> requests = {{ids(12, 5), 0}, {ids(30, 6), 0}};
  gen::GenerateOptions g;
  g.max_new_tokens = 24;
  const auto out_c = gen::Generator(mc, *cpu).generate(requests, g);
  const auto out_g = gen::Generator(mg, *gpu).generate(requests, g);
  ASSERT_EQ(out_c.size(), out_g.size());
  EXPECT_EQ(out_c[1].tokens, out_g[1].tokens);
  EXPECT_EQ(out_c[0].tokens, out_g[0].tokens);
}

}  // namespace
}  // namespace maca::pipeline
