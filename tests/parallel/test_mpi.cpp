// `maca quantize` and `maca eval` under mpirun with P = 1, 2, 3 ranks and
// 1, 2, 3 threads per rank on the tiny llama: identical bytes and
// perplexities for every combination (rows mode with and without the
// node-shared prepared statistics, owner mode), a run killed with P ranks
// resumes byte-identically with another rank count,
// and one failing rank ends the whole job with its message instead of a hang.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "parallel/mpi_fixture.h"

namespace {

namespace fs = std::filesystem;
using test_support::contains;
using test_support::file_bytes;
using Mpi = test_support::Mpi;

// Deterministic by construction: any rank count and any threads per rank give
// the same bytes of both exports and the same perplexities.
TEST_F(Mpi, ThreadsAndRanksGiveIdenticalBytes) {
  struct Job {
    std::vector<std::string> sets;
    std::vector<std::pair<int, int>> ranks_threads;
  };
  const std::vector<Job> jobs = {
      {{"quant.method=gptq"}, {{1, 1}, {1, 2}, {1, 3}, {2, 1}, {2, 2}, {2, 3}, {3, 1}, {3, 2}, {3, 3}}},
      // Rows mode without the node-shared copy: every rank prepares its own.
      {{"quant.method=gptq", "quant.gptq.act_order=true", "run.node_share=false"}, {{1, 1}, {2, 1}, {3, 1}}},
      {{"quant.method=gptaq", "quant.gptq.act_order=true", "quant.sym=false", "calib.batch_tokens=512",
        "run.partition=owner"},
       {{1, 1}, {2, 3}, {3, 2}}},
      // SNRQ's per-sequence α_s follow the sequences to whichever rank forwards them.
      {{"quant.method=snrq", "quant.snrq.alpha_mode=sample", "quant.sym=false"}, {{1, 1}, {2, 1}, {3, 2}}},
      {{"quant.method=ksnrq", "quant.ksnrq.beam=3", "quant.snrq.alpha_mode=closed_form", "run.partition=owner"},
       {{1, 2}, {2, 1}, {3, 1}}}};
  for (size_t j = 0; j < jobs.size(); ++j) {
    std::string ref;
    for (const auto& [ranks, threads] : jobs[j].ranks_threads) {
      std::string log;
      const std::string run = fmt::format("job{}-p{}-t{}", j, ranks, threads);
      std::vector<std::string> sets = jobs[j].sets;
      sets.push_back(fmt::format("run.threads={}", threads));
      ASSERT_EQ(mpirun(ranks, quantize(run, sets), &log).code, 0) << log;
      const auto report = nlohmann::json::parse(std::ifstream(dir_ / run / "report.json"));
      EXPECT_EQ(report["distributed"]["ranks"], ranks);
      EXPECT_EQ(report["distributed"]["peak_rss_bytes_per_rank"].size(), static_cast<size_t>(ranks));
      if (ranks > 1) {
        EXPECT_GT(report["distributed"]["allreduce_bytes"].get<int64_t>(), 0);
        // Owner mode reduces the one-owner groups (o_proj, down_proj) to their owner.
        const bool owner = report["distributed"]["partition"] == "owner";
        EXPECT_EQ(report["distributed"]["reduce_bytes_rank0"].get<int64_t>() > 0, owner);
        // Rows mode shares the prepared statistics between the ranks (all on this one node).
        const bool shared = !owner && !contains(report["config"].get<std::string>(), "node_share: false");
        EXPECT_EQ(report["distributed"]["node_shared_bytes_max"].get<int64_t>() > 0, shared);
      }
      if (ref.empty()) {
        ref = run;
        continue;
      }
      SCOPED_TRACE(run + " vs " + ref);
      for (const char* f : {"gptq/model.safetensors", "fake_quant/model.safetensors"})
        EXPECT_TRUE(file_bytes(dir_ / ref / f) == file_bytes(dir_ / run / f)) << f;
      const auto ref_report = nlohmann::json::parse(std::ifstream(dir_ / ref / "report.json"));
      EXPECT_EQ(report["eval"]["quantized"]["ppl"].get<double>(), ref_report["eval"]["quantized"]["ppl"].get<double>());
    }
  }
}

// Results do not depend on the rank count, so a run killed with P ranks
// resumes with any other count (a requeued job on fewer nodes) to the same bytes.
TEST_F(Mpi, KilledRunResumesByteIdenticallyWithAnotherRankCount) {
  std::string log;
  ASSERT_EQ(mpirun(2, quantize("ref", {}), &log).code, 0) << log;
  const auto killed = mpirun(2, quantize("run", {}), &log, {"MACA_FAULT_CHECKPOINT=kill:1"});
  EXPECT_NE(killed.code, 0) << log;
  ASSERT_TRUE(fs::exists(dir_ / "run" / "checkpoint" / "block-00000.h5")) << log;
  ASSERT_EQ(mpirun(3, quantize("run", {}), &log).code, 0) << log;
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
  for (const auto& [ranks, threads] : std::vector<std::pair<int, int>>{{1, 2}, {3, 1}, {2, 3}}) {
    std::string log;
    const fs::path run = dir_ / fmt::format("eval{}-{}", ranks, threads);
    ASSERT_EQ(mpirun(ranks, {"eval", "--model", (dir_ / "model").string(), "--ctx", "64", "--max-windows", "7",
                             "--set", "run.dir=" + run.string(), "--set", fmt::format("run.threads={}", threads)},
                     &log).code,
              0)
        << log;
    ppl.push_back(nlohmann::json::parse(std::ifstream(run / "eval.json"))["ppl"].get<double>());
  }
  EXPECT_EQ(ppl[1], ppl[0]);  // bitwise: fixed tiles and a fixed-order sum of the windows' NLL
  EXPECT_EQ(ppl[2], ppl[0]);
}

}  // namespace
