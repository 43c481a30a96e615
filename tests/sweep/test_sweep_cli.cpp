// `maca sweep` through the built binary on the tiny fixture model: dry runs
// print the exact commands, --slurm submits through sbatch (a fake one that
// records its arguments), slurm/sweep.sbatch runs a point (with a fake srun),
// a real local sweep runs, skips what is done, goes on after a failed point,
// and --collect tabulates exactly what the reports say.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/run_maca.h"
#include "sweep_test_util.h"

namespace {

namespace fs = std::filesystem;
using sweep_test::read_file;
using sweep_test::write_file;
using test_support::contains;
using test_support::run_maca;

const std::string kScript = std::string(MACA_SOURCE_DIR) + "/slurm/sweep.sbatch";

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, sep);) out.push_back(item);
  return out;
}

// Rows of a CSV without quoted fields, as maps from the header's names.
std::vector<std::map<std::string, std::string>> read_csv(const fs::path& path) {
  const auto lines = split(read_file(path), '\n');
  std::vector<std::map<std::string, std::string>> rows;
  if (lines.empty()) return rows;
  const auto header = split(lines[0], ',');
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto fields = split(lines[i], ',');
    fields.resize(header.size());
    std::map<std::string, std::string> row;
    for (std::size_t c = 0; c < header.size(); ++c) row[header[c]] = fields[c];
    rows.push_back(row);
  }
  return rows;
}

class SweepCli : public sweep_test::ScratchDir {
 protected:
  void SetUp() override {
    ScratchDir::SetUp();
    write_tiny_base();
    path_ = std::getenv("PATH");
  }
  void TearDown() override {
    setenv("PATH", path_.c_str(), 1);
    ScratchDir::TearDown();
  }

  // A sweep over `grid` (YAML lines under `grid:`) on the tiny base, out in <scratch>/out.
  fs::path sweep(const std::string& grid) const {
    const fs::path file = dir_ / "tiny.yaml";
    write_file(file, "name: tiny\nbase: base.yaml\nout: " + (dir_ / "out").string() + "\ngrid:\n" + grid);
    return file;
  }

  // An executable shell script in <scratch>/bin.
  void fake_tool(const std::string& name, const std::string& body) const {
    const fs::path path = dir_ / "bin" / name;
    write_file(path, "#!/bin/sh\n" + body);
    fs::permissions(path, fs::perms::owner_all);
  }

  std::string path_;
};

TEST_F(SweepCli, HelpExplainsTheModes) {
  const auto r = run_maca("sweep --help");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* s : {"usage: maca sweep [options] [FILE]", "--local", "--slurm", "--collect", "--dry-run",
                        "--sbatch-args", "sweep.out", "jobs/README.md"})
    EXPECT_TRUE(contains(r.output, s)) << "missing '" << s << "' in\n" << r.output;
  EXPECT_FALSE(contains(run_maca("--help").output, "sweep.\n"));  // no longer "not available yet"
}

TEST_F(SweepCli, LocalDryRunPrintsTheCommands) {
  const auto r = run_maca("sweep " + sweep("  quant.method: [rtn, gptq]\n").string() + " --dry-run");
  EXPECT_EQ(r.code, 0) << r.output;
  const std::string base = (dir_ / "base.yaml").string(), out = (dir_ / "out").string();
  EXPECT_TRUE(contains(r.output, std::string(MACA_BINARY) + " quantize -c " + base +
                                     " --set quant.method=rtn --set run.dir=" + out + "/00-rtn\n"))
      << r.output;
  EXPECT_TRUE(contains(r.output, " --set quant.method=gptq --set run.dir=" + out + "/01-gptq\n")) << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(SweepCli, SlurmDryRunPrintsTheArrayAndThePointsFile) {
  const auto r = run_maca("sweep " + sweep("  quant.method: [rtn, gptq]\n").string() + " --slurm --dry-run --script " +
                          kScript + " --sbatch-args='--partition=debug'");
  EXPECT_EQ(r.code, 0) << r.output;
  const std::string out = (dir_ / "out").string();
  EXPECT_TRUE(contains(r.output, "sbatch --array=0-1 --job-name=maca-sweep-tiny --output=" + out +
                                     "/logs/slurm-%A_%a.out --export=ALL,MACA=" + MACA_BINARY + " --partition=debug " +
                                     kScript + " " + out + "\n"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "01-gptq\t-c\t" + (dir_ / "base.yaml").string() +
                                     "\t--set\tquant.method=gptq\t--set\trun.dir=" + out + "/01-gptq\n"))
      << r.output;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(SweepCli, SlurmSubmitsThroughSbatch) {
  fake_tool("sbatch", "printf '%s\\n' \"$@\" > \"$(dirname \"$0\")/sbatch.args\"\necho 'Submitted batch job 42'\n");
  setenv("PATH", ((dir_ / "bin").string() + ":" + path_).c_str(), 1);
  const auto r = run_maca("sweep " + sweep("  quant.method: [rtn, gptq]\n  calib.seed: [0, 1]\n").string() +
                          " --slurm --script " + kScript + " --sbatch-args='--partition=debug --time=1:00:00'");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "Submitted batch job 42")) << r.output;
  const std::string out = (dir_ / "out").string();
  EXPECT_EQ(split(read_file(dir_ / "bin" / "sbatch.args"), '\n'),
            (std::vector<std::string>{
                "--array=0-3", "--job-name=maca-sweep-tiny", "--output=" + out + "/logs/slurm-%A_%a.out",
                std::string("--export=ALL,MACA=") + MACA_BINARY, "--partition=debug", "--time=1:00:00", kScript, out}));
  const auto lines = split(read_file(dir_ / "out" / "points"), '\n');
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[2], "02-gptq-s0\t-c\t" + (dir_ / "base.yaml").string() +
                          "\t--set\tquant.method=gptq\t--set\tcalib.seed=0\t--set\trun.dir=" + out + "/02-gptq-s0");
  EXPECT_TRUE(fs::exists(dir_ / "out" / "points.tsv"));
}

TEST_F(SweepCli, SlurmWithoutSbatchIsAClearError) {
  setenv("PATH", (dir_ / "bin").c_str(), 1);
  const auto r = run_maca("sweep " + sweep("  quant.method: [rtn]\n").string() + " --slurm --script " + kScript);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "sbatch is not on PATH")) << r.output;
}

TEST_F(SweepCli, BadSweepFileIsAnErrorNamingFileAndKey) {
  const auto r = run_maca("sweep " + sweep("  quant.bitz: [3]\n").string() + " --dry-run");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "tiny.yaml:5 (grid.quant.bitz[0]): unknown config key 'quant.bitz'")) << r.output;
  EXPECT_EQ(run_maca("sweep --slurm --collect " + sweep("  quant.bits: [3]\n").string()).code, 1);
  EXPECT_TRUE(contains(run_maca("sweep").output, "no sweep file"));
}

TEST_F(SweepCli, LocalRunSkipsDoneContinuesAfterFailureAndCollects) {
  // Group size 24 does not divide the tiny model's 64-wide inputs: that point fails when it runs.
  const fs::path file = sweep(
      "  method:\n    - {label: rtn, quant.method: rtn}\n    - {label: gptq, quant.method: gptq}\n"
      "  quant.group_size: [32, 24]\n");
  auto r = run_maca("sweep " + file.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "[2/4] 01-rtn-g24: FAILED with exit code 1")) << r.output;
  EXPECT_TRUE(contains(r.output, "2 FAILED: 01-rtn-g24, 03-gptq-g24")) << r.output;
  EXPECT_TRUE(contains(r.output, "01-rtn-g24 failed; from " + (dir_ / "out" / "logs" / "01-rtn-g24.log").string()))
      << r.output;
  EXPECT_TRUE(contains(r.output, "quant.group_size = 24 does not divide")) << "maca's error is shown:\n" << r.output;
  EXPECT_TRUE(contains(r.output, "ETA")) << r.output;
  const fs::path out = dir_ / "out";
  EXPECT_TRUE(fs::exists(out / "00-rtn-g32" / "report.json"));
  EXPECT_TRUE(fs::exists(out / "02-gptq-g32" / "report.json"));
  EXPECT_EQ(read_file(out / "logs" / "01-rtn-g24.failed"), "1\n");

  // --collect (also written at the end of the local run) has one row per point, values as in the reports.
  fs::remove(out / "results.csv");
  r = run_maca("sweep " + file.string() + " --collect");
  EXPECT_EQ(r.code, 0) << r.output;
  const auto rows = read_csv(out / "results.csv");
  ASSERT_EQ(rows.size(), 4u);
  for (const auto& row : rows) {
    const fs::path run_dir = row.at("run_dir");
    SCOPED_TRACE(run_dir.string());
    EXPECT_EQ(row.at("bits"), "4");
    EXPECT_EQ(row.at("seed"), "0");
    EXPECT_EQ(row.at("model"), (fs::path(MACA_FIXTURES) / "model" / "llama").string());
    EXPECT_EQ(row.at("label"), row.at("method"));
    if (row.at("group_size") == "24") {
      EXPECT_EQ(row.at("status"), "failed");
      EXPECT_EQ(row.at("quantize_s"), "");
      continue;
    }
    EXPECT_EQ(row.at("status"), "ok");
    std::ifstream in(run_dir / "report.json");
    const auto report = nlohmann::json::parse(in);
    EXPECT_EQ(row.at("method"), report.at("method").get<std::string>());
    EXPECT_EQ(row.at("group_size"), std::to_string(report.at("group_size").get<int>()));
    EXPECT_EQ(std::stod(row.at("quantize_s")), report.at("stages").at("total_s").get<double>());  // no evaluation
    EXPECT_EQ(std::stod(row.at("peak_rss_gib")), report.at("peak_rss_bytes").get<double>() / (1 << 30));
    EXPECT_EQ(row.at("cpu"), report.at("provenance").at("cpu").get<std::string>());
    EXPECT_FALSE(row.at("cpu").empty());
    EXPECT_EQ(row.at("fp_ppl"), "");
    EXPECT_EQ(row.at("quantized_ppl"), "");
  }
  const std::string md = read_file(out / "results.md");
  EXPECT_TRUE(contains(md, "4 points, 2 ok, 2 failed, 0 missing")) << md;
  EXPECT_TRUE(contains(md, "CPU of the points that are ok: " + rows[0].at("cpu") + " (2 points).")) << md;
  EXPECT_TRUE(contains(md, "| 00-rtn-g32 |")) << md;

  // A second run skips the done points and retries the failed ones.
  r = run_maca("sweep " + file.string() + " --local");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "4 points, 2 to run, 2 already done")) << r.output;
}

TEST_F(SweepCli, SweepSbatchRunsItsArrayTaskPoint) {
  fake_tool("sbatch", "echo 'Submitted batch job 7'\n");
  fake_tool("srun", "while [ \"${1#--}\" != \"$1\" ]; do shift; done\nexec \"$@\"\n");  // drops srun's options
  setenv("PATH", ((dir_ / "bin").string() + ":" + path_).c_str(), 1);
  const fs::path file = sweep("  quant.method: [rtn, gptq]\n");
  ASSERT_EQ(run_maca("sweep " + file.string() + " --slurm --script " + kScript).code, 0);

  const std::string out = (dir_ / "out").string();
  const std::string cmd =
      "SLURM_ARRAY_TASK_ID=1 MACA=" + std::string(MACA_BINARY) + " bash " + kScript + " " + out + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << output;
  EXPECT_TRUE(fs::exists(dir_ / "out" / "01-gptq" / "report.json")) << output;
  EXPECT_FALSE(fs::exists(dir_ / "out" / "00-rtn"));
  EXPECT_TRUE(contains(read_file(dir_ / "out" / "logs" / "01-gptq.log"), "=== maca sweep task 1"));

  // Done points are not submitted again.
  const auto r = run_maca("sweep " + file.string() + " --slurm --dry-run --script " + kScript);
  EXPECT_TRUE(contains(r.output, "sbatch --array=0 ")) << r.output;
}

}  // namespace
