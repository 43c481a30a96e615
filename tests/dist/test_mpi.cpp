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

#include "dist/mpi_fixture.h"

namespace {

namespace fs = std::filesystem;
using test_support::contains;
using test_support::file_bytes;
using Mpi = test_support::Mpi;

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
