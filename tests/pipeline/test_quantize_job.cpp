// `maca quantize` end to end on a tiny llama (tests/fixtures/model/llama) with
// a pre-tokenized calibration file: outputs exist and agree with each other,
// the one-batch (fused) and the batched (staged) block schedules give
// identical weights, every method runs, and bad options are rejected before
// anything is written.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "settings/options.h"
#include "core/error.h"
#include "io/model_source.h"
#include "pipeline/quantize_job.h"

namespace maca::pipeline {
namespace {

namespace fs = std::filesystem;

class QuantizeJob : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("maca_quantize_{}_{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::vector<int32_t> ids(4096);
    uint32_t x = 12345;
    for (auto& id : ids) id = static_cast<int32_t>((x = x * 1103515245u + 12345u) >> 16) % 256;
    std::ofstream(dir_ / "calib.tokens", std::ios::binary)
        .write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * 4));
  }
  void TearDown() override { fs::remove_all(dir_); }

  config::Config cfg(const std::string& run, std::vector<std::string> extra = {}) const {
    std::vector<std::string> sets = {
        fmt::format("model.path={}", (fs::path(MACA_FIXTURES) / "model" / "llama").string()),
        fmt::format("calib.data={}", (dir_ / "calib.tokens").string()),
        "calib.n_samples=8", "calib.seq_len=64", "quant.bits=4", "quant.group_size=32",
        "eval.fp=false", "eval.quantized=false", "run.threads=1",
        fmt::format("run.dir={}", (dir_ / run).string())};
    sets.insert(sets.end(), extra.begin(), extra.end());
    return config::resolve(config::builtin_schema(), "", sets);
  }

  // Weights of a layer in the fake-quant export.
  std::vector<float> fake_quant(const std::string& run, const std::string& tensor) const {
    const auto src = io::open_model(dir_ / run / "fake_quant");
    const Tensor t = src->load(tensor);
    return {t.data<float>(), t.data<float>() + t.numel()};
  }

  fs::path dir_;
};

constexpr const char* kDown = "model.layers.1.mlp.down_proj.weight";

TEST_F(QuantizeJob, WritesConsistentOutputs) {
  const fs::path run = run_quantize(cfg("gptq"));
  for (const char* f : {"report.json", "config.resolved.yaml", "gptq/config.json", "gptq/quantize_config.json",
                        "gptq/model.safetensors", "fake_quant/model.safetensors"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  std::ifstream in(run / "report.json");
  const auto report = nlohmann::json::parse(in);
  EXPECT_EQ(report.at("method"), "gptq");
  EXPECT_EQ(report.at("layers").size(), 14u);  // 2 blocks x 7 linears
  for (const auto& l : report.at("layers")) EXPECT_TRUE(std::isfinite(l.at("loss").get<double>()));

  // The GPTQ checkpoint dequantizes to the fake-quant weights, and they differ from the original.
  const auto fq = fake_quant("gptq", kDown);
  const auto gptq = io::open_model(run / "gptq")->load(kDown);
  const auto orig = io::open_model(fs::path(MACA_FIXTURES) / "model" / "llama")->load(kDown);
  ASSERT_EQ(static_cast<size_t>(gptq.numel()), fq.size());
  double changed = 0;
  for (size_t i = 0; i < fq.size(); ++i) {
    ASSERT_EQ(gptq.data<float>()[i], fq[i]) << i;
    changed += std::fabs(fq[i] - orig.data<float>()[i]);
  }
  EXPECT_GT(changed, 0.0);
  // A finished run directory is not overwritten.
  EXPECT_THROW(run_quantize(cfg("gptq")), ConfigError);
}

TEST_F(QuantizeJob, BatchedScheduleEqualsOneBatch) {
  for (const char* method : {"gptq", "gptaq", "snrq"}) {
    const std::string m = method;
    run_quantize(cfg(m + "_one", {"quant.method=" + m}));
    run_quantize(cfg(m + "_batched", {"quant.method=" + m, "calib.batch_tokens=128"}));
    for (const char* layer : {"model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.o_proj.weight",
                              "model.layers.1.mlp.up_proj.weight", kDown})
      EXPECT_EQ(fake_quant(m + "_one", layer), fake_quant(m + "_batched", layer)) << m << " " << layer;
  }
}

// Past calib.max_resident_gb (here a few KiB) the batches are sized to the
// limit and wait outside memory: spilled, the bytes of the unlimited run
// (exact f32); in bf16, slightly different weights. The spill file leaves
// nothing behind. GPTAQ: two streams.
TEST_F(QuantizeJob, StreamsPastTheMemoryLimitSpillExactlyOrWaitInBf16) {
  run_quantize(cfg("free", {"quant.method=gptaq"}));
  run_quantize(cfg("spill", {"quant.method=gptaq", "calib.max_resident_gb=0.00001"}));
  run_quantize(cfg("bf16", {"quant.method=gptaq", "calib.max_resident_gb=0.00001", "calib.overflow=bf16"}));
  for (const auto& e : fs::directory_iterator(dir_ / "spill"))
    EXPECT_EQ(e.path().filename().string().find("streams-"), std::string::npos) << e.path();
  double diff2 = 0, norm2 = 0;
  for (const char* layer : {"model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.o_proj.weight",
                            "model.layers.1.mlp.up_proj.weight", kDown}) {
    const auto free = fake_quant("free", layer);
    EXPECT_EQ(free, fake_quant("spill", layer)) << layer;
    const auto bf16 = fake_quant("bf16", layer);
    ASSERT_EQ(bf16.size(), free.size());
    for (size_t i = 0; i < free.size(); ++i) {
      diff2 += (bf16[i] - free[i]) * (bf16[i] - free[i]);
      norm2 += free[i] * free[i];
    }
  }
  // The streams are rounded to bf16 from the embedding on: the rounding path
  // moves (GPTQ's error feedback spreads any change over the later columns and
  // their group scales), but the weights stay close.
  const double rel = std::sqrt(diff2 / norm2);
  EXPECT_GT(rel, 0.0);
  EXPECT_LT(rel, 1.0) << "relative L2 change of the weights";
  // What the rounding optimizes stays close: every layer's loss within 5 % (the
  // loss is measured on each run's own statistics, so broken streams show here).
  auto losses = [&](const std::string& run) {
    const auto report = nlohmann::json::parse(std::ifstream(dir_ / run / "report.json"));
    std::vector<double> out;
    for (const auto& l : report.at("layers")) out.push_back(l.at("loss").get<double>());
    return out;
  };
  const auto a = losses("free"), b = losses("bf16");
  ASSERT_EQ(a.size(), b.size());
  double worst = 0;
  ASSERT_EQ(a.size(), 14u);
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(b[i] / a[i] - 1));
  EXPECT_LT(worst, 0.05);
}

// SNRQ's closed-form α: block 0 rounds with α = 0, block 1 with the reference
// value; every layer records its α and source, and the layers whose two
// streams differ record α*. The GPTQ export carries the permuted order as
// desc_act with g_idx and dequantizes to the fake-quant weights.
TEST_F(QuantizeJob, SnrqRecordsAlphaAndExportsItsOrder) {
  const fs::path run = run_quantize(cfg("snrq", {"quant.method=snrq", "quant.snrq.alpha_mode=closed_form"}));
  const auto report = nlohmann::json::parse(std::ifstream(run / "report.json"));
  EXPECT_EQ(report.at("method"), "snrq");
  int with_star = 0;
  for (const auto& l : report.at("layers")) {
    const bool block0 = l.at("name").get<std::string>().starts_with("model.layers.0.");
    EXPECT_EQ(l.at("alpha").get<double>(), block0 ? 0.0 : 0.25) << l.dump();
    EXPECT_EQ(l.at("alpha_source"), block0 ? "closed_form: block 0" : "closed_form: reference value") << l.dump();
    if (l.contains("alpha_star")) {
      ++with_star;
      EXPECT_GE(l.at("alpha_star").get<double>(), 0.0);
      EXPECT_LE(l.at("alpha_star").get<double>(), 1.0);
    }
  }
  EXPECT_GE(with_star, 11);  // all but block 0's q/k/v (same input in both streams there: D = 0)
  const auto qcfg = nlohmann::json::parse(std::ifstream(run / "gptq" / "quantize_config.json"));
  EXPECT_EQ(qcfg.at("desc_act"), true);
  const auto fq = fake_quant("snrq", kDown);
  const auto gptq = io::open_model(run / "gptq")->load(kDown);
  EXPECT_EQ(std::vector<float>(gptq.data<float>(), gptq.data<float>() + gptq.numel()), fq);
}

TEST_F(QuantizeJob, EveryMethodAndSampler) {
  int i = 0;
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {"quant.method=rtn"},
           {"quant.method=gptaq", "quant.sym=false"},
           {"quant.true_sequential=false"},
           {"quant.gptq.act_order=true", "quant.bits=3", "quant.sym=false"},
           {"calib.sampler=maca", "calib.maca.lengths=16,32,64", "calib.maca.mode=prefix"},
           {"calib.sampler=maca", "calib.maca.lengths=16,32,64", "calib.maca.mode=crops"},
           {"quant.method=snrq", "calib.sampler=maca", "calib.maca.lengths=16,32,64", "calib.maca.mode=prefix"},
           {"quant.method=snrq", "quant.snrq.alpha_mode=sample", "calib.sampler=maca",
            "calib.maca.lengths=16,32,64", "calib.maca.mode=crops"},
           {"quant.method=ksnrq", "quant.snrq.alpha_mode=closed_form", "quant.ksnrq.beam=2"},
           {"quant.skip=*.down_proj"}}) {
    const std::string name = fmt::format("run{}", i++);
    SCOPED_TRACE(extra.front());
    const fs::path run = run_quantize(cfg(name, extra));
    const auto fq = fake_quant(name, kDown);
    for (float v : fq) ASSERT_TRUE(std::isfinite(v));
    fs::remove_all(run);
  }
  // Skipped layers keep their weights.
  run_quantize(cfg("skip", {"quant.skip=*.down_proj"}));
  const auto orig = io::open_model(fs::path(MACA_FIXTURES) / "model" / "llama")->load(kDown);
  EXPECT_EQ(fake_quant("skip", kDown), std::vector<float>(orig.data<float>(), orig.data<float>() + orig.numel()));
}

TEST_F(QuantizeJob, BadOptionsFailBeforeAnyWork) {
  EXPECT_THROW(cfg("a", {"quant.bits=5"}), ConfigError);
  EXPECT_THROW(cfg("a", {"calib.sampler=uniform"}), ConfigError);
  EXPECT_THROW(run_quantize(cfg("b", {"quant.group_size=48"})), ConfigError);
  EXPECT_THROW(run_quantize(cfg("c", {"calib.data=" + (dir_ / "missing.jsonl").string()})), Error);
  EXPECT_THROW(run_quantize(cfg("d", {"calib.sampler=maca", "calib.maca.lengths=64,32"})), ConfigError);
  EXPECT_THROW(run_quantize(cfg("e", {"eval.quantized=true", "export.fake_quant=false"})), ConfigError);
  EXPECT_THROW(run_quantize(cfg("f", {"quant.skip=model.layers.*"})), ConfigError);
  for (const char* run : {"b", "c", "d", "e", "f"}) EXPECT_FALSE(fs::exists(dir_ / run)) << run;
}

}  // namespace
}  // namespace maca::pipeline
