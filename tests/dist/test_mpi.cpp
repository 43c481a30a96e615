// `maca quantize` and `maca eval` under mpirun with P = 1, 2, 3, 4 ranks on
// the tiny llama: the rank count changes nothing beyond float summation order
// (≥ 99 % identical weights, PPL within 0.5 %), a run killed with P ranks
// resumes byte-identically with P ranks and is refused with another count,
// and one failing rank ends the whole job with its message instead of a hang.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/child_process.h"
#include "common/run_maca.h"
#include "common/tiny_run.h"
#include "io/model_source.h"

namespace {

namespace fs = std::filesystem;
using test_support::contains;
using test_support::file_bytes;

class Mpi : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("maca_mpi_{}_{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "model");
    test_support::write_calib_tokens(dir_ / "calib.tokens", 65536);
    const fs::path src = fs::path(MACA_FIXTURES) / "model";
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy(src / "llama" / f, dir_ / "model" / f);
    fs::copy(src / "byte_tokenizer.json", dir_ / "model" / "tokenizer.json");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> quantize(const std::string& run, const std::vector<std::string>& sets) const {
    std::vector<std::string> a = test_support::tiny_quantize_args(dir_ / "calib.tokens", dir_ / run, 16, 128);
    for (const std::string& s : std::vector<std::string>{"model.path=" + (dir_ / "model").string(),
                                                         "eval.quantized=true", "eval.ctx=64", "eval.max_windows=8"}) {
      a.push_back("--set");
      a.push_back(s);
    }
    for (const std::string& s : sets) {
      a.push_back("--set");
      a.push_back(s);
    }
    return a;
  }

  // Runs maca with `args` on `ranks` ranks; fails the test (and kills the
  // job) when it has not ended after `timeout_s`.
  test_support::ChildExit mpirun(int ranks, const std::vector<std::string>& args, std::string* output = nullptr,
                                 const std::vector<std::string>& env = {}, double timeout_s = 120) const {
    std::vector<std::string> argv = {MACA_MPIEXEC, "--oversubscribe", "--bind-to", "none", "-np",
                                     std::to_string(ranks)};
    for (const std::string& e : env) argv.insert(argv.end(), {"-x", e.substr(0, e.find('='))});
    argv.push_back(MACA_BINARY);
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> full_env = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                                         "OMPI_MCA_rmaps_base_oversubscribe=1"};
    full_env.insert(full_env.end(), env.begin(), env.end());
    test_support::Child c = test_support::spawn(argv, full_env);
    if (!test_support::read_to_end(c, timeout_s))
      ADD_FAILURE() << "mpirun with " << ranks << " ranks did not end within " << timeout_s << " s:\n" << c.output;
    const test_support::ChildExit e = test_support::wait_child(c);
    if (output) *output = c.output;
    return e;
  }

  double quantized_ppl(const std::string& run) const {
    const auto j = nlohmann::json::parse(std::ifstream(dir_ / run / "report.json"));
    return j["eval"]["quantized"]["ppl"].get<double>();
  }

  // Fraction of equal values over the quantized weights of two fake-quant models.
  double equal_fraction(const std::string& a, const std::string& b) const {
    const auto ma = maca::io::open_model(dir_ / a / "fake_quant"), mb = maca::io::open_model(dir_ / b / "fake_quant");
    int64_t same = 0, total = 0;
    for (const std::string& name : ma->tensor_names()) {
      if (!contains(name, "_proj.weight")) continue;
      const maca::Tensor ta = ma->load(name), tb = mb->load(name);
      for (int64_t i = 0; i < ta.numel(); ++i) same += ta.data<float>()[i] == tb.data<float>()[i];
      total += ta.numel();
    }
    EXPECT_GT(total, 0);
    return static_cast<double>(same) / static_cast<double>(std::max<int64_t>(total, 1));
  }

  fs::path dir_;
};

TEST_F(Mpi, RankCountChangesNothingBeyondSummationOrder) {
  const std::vector<std::vector<std::string>> jobs = {
      {"quant.method=gptq"},
      {"quant.method=gptaq", "quant.act_order=true", "quant.sym=false", "calib.batch_tokens=512",
       "run.partition=owner"}};
  for (size_t j = 0; j < jobs.size(); ++j) {
    std::string log;
    const std::string ref = fmt::format("job{}-p1", j);
    ASSERT_EQ(mpirun(1, quantize(ref, jobs[j]), &log).code, 0) << log;
    for (int ranks : {2, 3, 4}) {
      const std::string run = fmt::format("job{}-p{}", j, ranks);
      ASSERT_EQ(mpirun(ranks, quantize(run, jobs[j]), &log).code, 0) << log;
      SCOPED_TRACE(run);
      EXPECT_GE(equal_fraction(ref, run), 0.99);
      EXPECT_NEAR(quantized_ppl(run) / quantized_ppl(ref), 1.0, 0.005);
      const auto report = nlohmann::json::parse(std::ifstream(dir_ / run / "report.json"));
      EXPECT_EQ(report["distributed"]["ranks"], ranks);
      EXPECT_EQ(report["distributed"]["peak_rss_bytes_per_rank"].size(), static_cast<size_t>(ranks));
      EXPECT_GT(report["distributed"]["allreduce_bytes"].get<int64_t>(), 0);
    }
  }
}

TEST_F(Mpi, KilledRunResumesByteIdenticallyWithTheSameRankCountOnly) {
  std::string log;
  ASSERT_EQ(mpirun(2, quantize("ref", {}), &log).code, 0) << log;
  const auto killed = mpirun(2, quantize("run", {}), &log, {"MACA_FAULT_CHECKPOINT=kill:1"});
  EXPECT_NE(killed.code, 0) << log;
  ASSERT_TRUE(fs::exists(dir_ / "run" / "checkpoint" / "block-00000.h5")) << log;
  EXPECT_EQ(mpirun(1, quantize("run", {}), &log).code, 1);
  EXPECT_TRUE(contains(log, "rank count was 2, now 1")) << log;
  ASSERT_EQ(mpirun(2, quantize("run", {}), &log).code, 0) << log;
  EXPECT_TRUE(contains(log, "resuming from")) << log;
  for (const char* f : {"gptq/model.safetensors", "fake_quant/model.safetensors"})
    EXPECT_TRUE(file_bytes(dir_ / "ref" / f) == file_bytes(dir_ / "run" / f)) << f;
}

TEST_F(Mpi, AFailingRankEndsTheWholeJob) {
  std::string log;
  const auto e = mpirun(2, quantize("run", {}), &log, {"MACA_FAULT_RANK_THROW=1:0"}, 60);
  EXPECT_NE(e.code, 0);
  EXPECT_TRUE(contains(log, "[r1] error: injected failure on rank 1 at block 0")) << log;
  EXPECT_TRUE(contains(log, "rank 1 of 2 failed; aborting the whole job")) << log;
  EXPECT_FALSE(fs::exists(dir_ / "run" / "report.json"));
}

TEST_F(Mpi, ShardedEvaluationGivesTheSamePerplexity) {
  std::vector<double> ppl;
  for (int ranks : {1, 3}) {
    std::string log;
    const fs::path run = dir_ / fmt::format("eval{}", ranks);
    ASSERT_EQ(mpirun(ranks, {"eval", "--model", (dir_ / "model").string(), "--ctx", "64", "--max-windows", "7",
                             "--set", "run.dir=" + run.string()},
                     &log).code,
              0)
        << log;
    ppl.push_back(nlohmann::json::parse(std::ifstream(run / "eval.json"))["ppl"].get<double>());
  }
  EXPECT_NEAR(ppl[1] / ppl[0], 1.0, 1e-12);
}

}  // namespace
