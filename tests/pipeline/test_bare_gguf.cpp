// The README's main job from a bare GGUF file, through the built binary: the
// .gguf alone in an empty directory, `maca quantize` with the default group
// size (resolved for the model), both perplexities in report.json, and gptq/
// and fake_quant/ complete on their own (tokenizer files written from the
// GGUF metadata): `maca eval` and `maca inspect` work on them after the .gguf
// is gone. The tiny llama fixture always runs; SmolLM2-135M (reduced
// settings) when it is fetched.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/real_models.h"
#include "common/run_maca.h"

namespace {

namespace fs = std::filesystem;
using test_support::contains;
using test_support::run_maca;

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << "missing " << path;
  return in ? nlohmann::json::parse(in) : nlohmann::json();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class BareGguf : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("maca_bare_gguf_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "model");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Copies `gguf` alone into an empty directory and returns the copy.
  fs::path bare_copy(const fs::path& gguf) const {
    const fs::path copy = dir_ / "model" / gguf.filename();
    fs::copy_file(gguf, copy);
    return copy;
  }

  // `maca eval` of an exported directory; returns its perplexity (NaN on failure).
  double eval_ppl(const fs::path& model, const std::string& settings, const std::string& name) const {
    const auto r =
        run_maca("eval --model " + model.string() + " " + settings + " --set run.dir=" + (dir_ / name).string());
    EXPECT_EQ(r.code, 0) << r.output;
    if (r.code != 0) return std::nan("");
    return read_json(dir_ / name / "eval.json").at("ppl").get<double>();
  }

  // Quantizes `gguf` with the default group size and checks the run and its
  // outputs; `eval_settings` (eval.*) are used for every evaluation.
  void run_main_job(const fs::path& gguf, const std::string& settings, const std::string& eval_settings,
                    int64_t expected_group, const std::string& group_note) {
    const fs::path run = dir_ / "run";
    const auto r = run_maca("quantize --model " + gguf.string() + " " + settings + " " + eval_settings + " --run-dir " +
                            run.string());
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "quant.group_size: the default 128 does not divide " + group_note)) << r.output;
    EXPECT_TRUE(contains(r.output, "WikiText-2 perplexity: full precision")) << r.output;

    const nlohmann::json report = read_json(run / "report.json");
    EXPECT_EQ(report.at("group_size").get<int64_t>(), expected_group);
    const double fp = report.at("eval").at("fp").at("ppl").get<double>();
    const double q = report.at("eval").at("quantized").at("ppl").get<double>();
    EXPECT_TRUE(std::isfinite(fp) && fp > 1) << fp;
    EXPECT_TRUE(std::isfinite(q) && q > 1) << q;
    EXPECT_TRUE(contains(read_text(run / "config.resolved.yaml"), "group_size: " + std::to_string(expected_group)));

    for (const char* out : {"gptq", "fake_quant"}) {
      for (const char* file : {"tokenizer.json", "tokenizer_config.json", "generation_config.json", "config.json"})
        EXPECT_TRUE(fs::is_regular_file(run / out / file)) << out << "/" << file;
      EXPECT_EQ(read_json(run / out / "tokenizer_config.json").at("tokenizer_class"), "PreTrainedTokenizerFast");
    }

    // The outputs stand alone: evaluate them without the .gguf.
    fs::remove(gguf);
    const double fake_quant = eval_ppl(run / "fake_quant", eval_settings, "eval_fake_quant");
    const double gptq = eval_ppl(run / "gptq", eval_settings, "eval_gptq");
    EXPECT_NEAR(fake_quant / q, 1.0, 1e-5) << "the model quantize evaluated";
    EXPECT_NEAR(gptq / q, 1.0, 1e-2) << "the GPTQ checkpoint keeps non-quantized tensors in fp16";
    const auto inspect = run_maca("inspect " + run.string());
    EXPECT_EQ(inspect.code, 0) << inspect.output;
    EXPECT_TRUE(contains(inspect.output, "gptq check: all")) << inspect.output;
  }

  fs::path dir_;
};

TEST_F(BareGguf, TinyLlamaEndToEnd) {
  const fs::path gguf = bare_copy(fs::path(MACA_FIXTURES) / "gguf" / "tiny_llama_bpe.gguf");
  run_main_job(gguf, "--set calib.n_samples=4 --set calib.seq_len=64 --set run.threads=1",
               "--set eval.ctx=64 --set eval.max_windows=2", 64, "the 64 input features");
}

TEST_F(BareGguf, SmolLM2EndToEnd) {
  std::string why;
  const auto model = maca::test_support::find_real_model("smollm2-135m", why);
  if (!model) GTEST_SKIP() << why;
  const fs::path gguf = bare_copy(*model);
  run_main_job(gguf, "--set calib.n_samples=2 --set calib.seq_len=64", "--set eval.ctx=128 --set eval.max_windows=2",
               64, "the 576 input features");
}

// A group size given explicitly is not resolved: one that does not divide is
// the up-front error, before the run directory exists.
TEST_F(BareGguf, ExplicitGroupSizeThatDoesNotDivideIsAnError) {
  const fs::path gguf = bare_copy(fs::path(MACA_FIXTURES) / "gguf" / "tiny_llama_bpe.gguf");
  const fs::path run = dir_ / "run";
  const auto r =
      run_maca("quantize --model " + gguf.string() + " --group-size 48 --set eval.fp=false --run-dir " + run.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "quant.group_size = 48 does not divide the 64 input features")) << r.output;
  EXPECT_FALSE(contains(r.output, "the default 128")) << r.output;
  EXPECT_FALSE(fs::exists(run));
}

}  // namespace
