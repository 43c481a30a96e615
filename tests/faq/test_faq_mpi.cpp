// `maca faq` under mpirun: units are shared by the ranks (unit u on rank
// u mod P), and the calibration set is the same for P = 1, 2 and 3.
#include <fmt/format.h>

#include "parallel/mpi_fixture.h"

namespace {

namespace fs = std::filesystem;
using test_support::Mpi;

std::vector<std::string> faq_args(const fs::path& dir, const std::string& run) {
  std::vector<std::string> a = {"faq"};
  for (const std::string& s : std::vector<std::string>{
           "model.path=" + (dir / "model").string(), "faq.teacher=" + (dir / "model").string(),
           "calib.data=" + (dir / "calib.tokens").string(), "calib.n_samples=4", "calib.seq_len=32",
           "faq.source_tokens=8", "faq.candidates=2", "gen.batch=3", "faq.min_new_tokens=4", "faq.max_repeat=1",
           "gen.temperature=1", "run.threads=1", "run.dir=" + (dir / run).string()}) {
    a.push_back("--set");
    a.push_back(s);
  }
  return a;
}

TEST_F(Mpi, FaqGivesTheSameCalibrationSetForAnyRankCount) {
  nlohmann::json ref;
  for (const int ranks : {1, 2, 3}) {
    const std::string run = fmt::format("faq{}", ranks);
    std::string log;
    ASSERT_EQ(mpirun(ranks, faq_args(dir_, run), &log).code, 0) << log;
    const auto f = nlohmann::json::parse(std::ifstream(dir_ / run / "calib-set.json"));
    EXPECT_EQ(f["provenance"]["cost"]["ranks"], ranks);
    if (ranks == 1) {
      ref = f;
      continue;
    }
    EXPECT_EQ(f["samples"], ref["samples"]) << ranks << " ranks";
    EXPECT_EQ(f["groups"], ref["groups"]) << ranks << " ranks";
  }
}

}  // namespace
