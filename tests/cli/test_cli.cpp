// Runs the built `maca` binary and checks exit codes and messages.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/run_maca.h"

namespace {

using test_support::contains;
using test_support::run_maca;

TEST(Cli, TopLevelHelpListsCommands) {
  const auto r = run_maca("--help");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "usage: maca <command>")) << r.output;
  EXPECT_TRUE(contains(r.output, "eval")) << r.output;
  EXPECT_TRUE(contains(r.output, "inspect")) << r.output;
  EXPECT_TRUE(contains(r.output, "version")) << r.output;
}

TEST(Cli, NoCommandIsAnErrorWithUsage) {
  const auto r = run_maca("");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "usage: maca <command>")) << r.output;
}

TEST(Cli, Version) {
  const auto r = run_maca("version");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "maca 0.")) << r.output;
  EXPECT_TRUE(contains(r.output, "backend cpu: all ")) << r.output;
  EXPECT_TRUE(contains(r.output, "backend cuda: ")) << r.output;  // its ops, or "not built"
  EXPECT_EQ(run_maca("--version").output, r.output);
}

TEST(Cli, EvalHelpExplainsEveryOptionWithDefaults) {
  const auto r = run_maca("eval --help");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* s : {"usage: maca eval", "--config", "--set", "--model", "--data", "--ctx", "--max-windows",
                        "--log-level", "--device", "--threads", "eval.ctx = 2048", "model.path = smollm2-135m",
                        "eval.data = wikitext-2-raw/wiki.test.raw", "eval.max_windows = 0", "eval.batch_tokens",
                        "data.search_path", "run.device = auto", "cpu|cuda|cuda:N|auto"})
    EXPECT_TRUE(contains(r.output, s)) << "missing '" << s << "' in\n" << r.output;
}

TEST(Cli, InspectHelp) {
  const auto r = run_maca("inspect --help");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "usage: maca inspect [options] [PATH]")) << r.output;
  EXPECT_TRUE(contains(r.output, "--tensors")) << r.output;
}

TEST(Cli, UnknownCommandSuggestsClosest) {
  const auto r = run_maca("evl");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "unknown command 'evl' (did you mean 'eval'?)")) << r.output;
  EXPECT_TRUE(contains(r.output, "eval, generate, faq, inspect, version")) << r.output;
  EXPECT_TRUE(contains(r.output, "[r0]")) << "errors carry the rank prefix:\n" << r.output;
}

TEST(Cli, BadSetKeySuggestsClosest) {
  const auto r = run_maca("eval --set eval.ctxx=5");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "unknown config key 'eval.ctxx' (--set eval.ctxx=5): did you mean 'eval.ctx'?"))
      << r.output;
}

TEST(Cli, BadValueNamesKeyAndFlag) {
  auto r = run_maca("eval --ctx abc");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "eval.ctx: expected an integer, got 'abc' (--ctx)")) << r.output;
  r = run_maca("eval --device gpu");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "run.device: 'gpu' is not one of")) << r.output;
}

TEST(Cli, UnknownFlagSuggestsClosest) {
  auto r = run_maca("eval --max-window 3");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "did you mean '--max-windows'?")) << r.output;
  r = run_maca("eval --ctxx 3");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "did you mean '--ctx'?")) << r.output;
}

TEST(Cli, MissingConfigFile) {
  const auto r = run_maca("eval -c /nonexistent/maca.yaml");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "cannot read config file '/nonexistent/maca.yaml'")) << r.output;
}

TEST(Cli, ExampleConfigIsValid) {
  // The config is resolved before the model is looked for: an error about the
  // model means the example file was accepted.
  const auto r = run_maca(std::string("inspect -c ") + MACA_SOURCE_DIR +
                            "/configs/eval-wikitext2.yaml --set model.path=/nonexistent/model.gguf");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "model '/nonexistent/model.gguf' not found")) << r.output;
}

TEST(Cli, InspectGguf) {
  const std::string gguf = std::string(MACA_FIXTURES) + "/gguf/tiny_llama.gguf";
  auto r = run_maca("inspect " + gguf);
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* s : {"\"LlamaForCausalLM\"", "num_hidden_layers: 2", "tensors: 21", "parameters: 78144",
                        "tiny_llama.gguf ("})
    EXPECT_TRUE(contains(r.output, s)) << "missing '" << s << "' in\n" << r.output;
  EXPECT_FALSE(contains(r.output, "q_proj")) << r.output;
  r = run_maca("inspect --tensors --model " + gguf);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "model.layers.1.mlp.down_proj.weight [64, 128]")) << r.output;
}

TEST(Cli, InspectHfDirectory) {
  const auto r = run_maca(std::string("inspect ") + MACA_FIXTURES + "/model/llama");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "model.safetensors (")) << r.output;
  EXPECT_TRUE(contains(r.output, "config.json (")) << r.output;
}

TEST(Cli, MissingModelSaysHowToFetchIt) {
  const auto r = run_maca("inspect /nonexistent/model-dir");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "scripts/fetch_models.py")) << r.output;
}

}  // namespace

namespace {

// End to end on the real small model (skips when absent): a short eval writes
// the resolved config and a finite perplexity into run.dir.
TEST(Cli, EvalOnTheRealModelWritesRunDir) {
  const auto probe = run_maca("inspect smollm2-135m");
  if (probe.code != 0) GTEST_SKIP() << "SmolLM2-135M not available: " << probe.output;
  const std::string dir = testing::TempDir() + "maca_cli_eval_run";
  std::filesystem::remove_all(dir);
  const auto r = run_maca("eval --model smollm2-135m --ctx 64 --max-windows 2 --device cpu --set run.dir=" + dir);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "PPL ")) << r.output;
  std::ifstream in(dir + "/eval.json");
  ASSERT_TRUE(in) << "no eval.json in " << dir;
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("windows").get<int64_t>(), 2);
  EXPECT_EQ(j.at("predicted_tokens").get<int64_t>(), 2 * 63);
  const double ppl = j.at("ppl").get<double>();
  EXPECT_TRUE(std::isfinite(ppl) && ppl > 1.0 && ppl < 1000.0) << ppl;
  EXPECT_TRUE(std::filesystem::exists(dir + "/config.resolved.yaml"));
}

TEST(Cli, EvalWithAMissingDataFileSaysWhereItLooked) {
  const auto r = run_maca("eval --model smollm2-135m --data no/such/file.txt --device cpu");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "no/such/file.txt")) << r.output;
}

TEST(Cli, SrunWithoutMpiIsRefusedInsteadOfRunningManyRankZeros) {
  const auto r = run_maca("version", "SLURM_STEP_NUM_TASKS=4");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "srun --mpi=pmix")) << r.output;
}

}  // namespace
