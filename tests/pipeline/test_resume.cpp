// Checkpoint and resume, through the `maca` binary: a run SIGKILLed at random
// moments (and inside a checkpoint write) resumes to outputs byte-identical to
// an uninterrupted run; a stop request ends after a checkpoint with exit 75
// and resumes; a changed config, calibration set or model is refused naming
// the difference; a full disk or an unwritable run directory is a clear error
// that keeps the finished blocks; `maca export` rebuilds the outputs.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/child_process.h"
#include "common/run_maca.h"
#include "common/tiny_run.h"

namespace {

namespace fs = std::filesystem;
using test_support::contains;
using test_support::file_bytes;

const std::vector<std::string> kOutputs = {"gptq/model.safetensors", "gptq/config.json", "gptq/quantize_config.json",
                                           "fake_quant/model.safetensors", "fake_quant/config.json"};

class Resume : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("maca_resume_{}_{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    test_support::write_calib_tokens(dir_ / "calib.tokens", 65536);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A GPTAQ job (two activation streams to replay) that takes about a second.
  std::vector<std::string> job(const std::string& run, std::vector<std::string> extra = {}) const {
    std::vector<std::string> a = test_support::tiny_quantize_args(dir_ / "calib.tokens", dir_ / run, 64, 256);
    a.insert(a.begin(), MACA_BINARY);
    for (const char* s : {"quant.method=gptaq", "quant.gptq.act_order=true", "quant.sym=false"}) {
      a.push_back("--set");
      a.push_back(s);
    }
    for (auto& e : extra) a.push_back(std::move(e));
    return a;
  }

  test_support::ChildExit run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                              std::string* output = nullptr) const {
    test_support::Child c = test_support::spawn(argv, env);
    const test_support::ChildExit e = test_support::wait_child(c);
    if (output) *output = c.output;
    return e;
  }

  void expect_same_outputs(const std::string& ref, const std::string& run) const {
    for (const std::string& f : kOutputs) {
      ASSERT_TRUE(fs::exists(dir_ / run / f)) << run << "/" << f;
      EXPECT_TRUE(file_bytes(dir_ / ref / f) == file_bytes(dir_ / run / f)) << run << "/" << f << " differs";
    }
  }

  fs::path dir_;
};

TEST_F(Resume, KilledAtRandomMomentsResumesToIdenticalOutputs) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string log;
  ASSERT_EQ(run(job("ref"), {}, &log).code, 0) << log;
  const double full_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  uint32_t x = 2024;
  for (int i = 0; i < 5; ++i) {
    const std::string name = fmt::format("killed{}", i);
    x = x * 1664525u + 1013904223u;
    const double at = full_s * (0.05 + 0.95 * static_cast<double>(x >> 8) / static_cast<double>(1u << 24));
    test_support::Child c = test_support::spawn(job(name));
    std::this_thread::sleep_for(std::chrono::duration<double>(at));
    kill(c.pid, SIGKILL);
    test_support::wait_child(c);
    if (!fs::exists(dir_ / name / "report.json")) {
      ASSERT_EQ(run(job(name), {}, &log).code, 0) << log;
    }
    SCOPED_TRACE(fmt::format("killed after {:.2f} s of {:.2f} s", at, full_s));
    expect_same_outputs("ref", name);
  }
}

TEST_F(Resume, KilledInsideACheckpointWriteResumes) {
  ASSERT_EQ(run(job("ref")).code, 0);
  for (int block : {0, 1}) {
    const std::string name = fmt::format("write{}", block);
    const auto e = run(job(name), {fmt::format("MACA_FAULT_CHECKPOINT=kill:{}", block)});
    EXPECT_TRUE(e.signaled && e.signal == SIGKILL);
    EXPECT_TRUE(fs::exists(dir_ / name / "checkpoint" / fmt::format("block-{:05}.h5.tmp", block)));
    EXPECT_FALSE(fs::exists(dir_ / name / "checkpoint" / fmt::format("block-{:05}.h5", block)));
    std::string log;
    ASSERT_EQ(run(job(name), {}, &log).code, 0) << log;
    EXPECT_TRUE(contains(log, "removed 1 unfinished checkpoint write")) << log;
    EXPECT_EQ(contains(log, "resuming from"), block == 1) << log;
    expect_same_outputs("ref", name);
  }
}

// SNRQ with sampled α (per-sequence factors on D) and K-SNRQ with the
// closed-form α (each block's α* read back from the checkpoint's records).
TEST_F(Resume, SnrqResumesToIdenticalOutputs) {
  for (const std::vector<std::string>& method :
       {std::vector<std::string>{"--set", "quant.method=snrq", "--set", "quant.snrq.alpha_mode=sample"},
        std::vector<std::string>{"--set", "quant.method=ksnrq", "--set", "quant.snrq.alpha_mode=closed_form"}}) {
    const std::string tag = method[1].substr(std::string("quant.method=").size());
    ASSERT_EQ(run(job("ref-" + tag, method)).code, 0);
    const std::string name = "killed-" + tag;
    EXPECT_TRUE(run(job(name, method), {"MACA_FAULT_CHECKPOINT=kill:1"}).signaled);
    std::string log;
    ASSERT_EQ(run(job(name, method), {}, &log).code, 0) << log;
    EXPECT_TRUE(contains(log, "resuming from")) << log;
    expect_same_outputs("ref-" + tag, name);
  }
}

TEST_F(Resume, StopRequestEndsAfterACheckpointAndResumes) {
  ASSERT_EQ(run(job("ref")).code, 0);
  test_support::Child c = test_support::spawn(job("stopped"));
  ASSERT_TRUE(test_support::read_until(c, "calibration activations", 60)) << c.output;
  kill(c.pid, SIGUSR1);
  const auto e = test_support::wait_child(c);
  EXPECT_EQ(e.code, 75) << c.output;
  EXPECT_TRUE(contains(c.output, "stopped on request after block 1 of 2 was checkpointed")) << c.output;
  EXPECT_TRUE(fs::exists(dir_ / "stopped" / "checkpoint" / "block-00000.h5"));
  EXPECT_FALSE(fs::exists(dir_ / "stopped" / "report.json"));
  std::string log;
  ASSERT_EQ(run(job("stopped"), {}, &log).code, 0) << log;
  expect_same_outputs("ref", "stopped");
}

TEST_F(Resume, ChangedJobIsRefusedNamingWhatDiffers) {
  ASSERT_TRUE(run(job("r"), {"MACA_FAULT_CHECKPOINT=kill:1"}).signaled);
  const std::string fp_before = file_bytes(dir_ / "r" / "fingerprint");
  const std::string block0 = file_bytes(dir_ / "r" / "checkpoint" / "block-00000.h5");
  std::string log;
  EXPECT_EQ(run(job("r", {"--set", "quant.bits=3"}), {}, &log).code, 1);
  EXPECT_TRUE(contains(log, "cannot resume") && contains(log, "quant.bits")) << log;

  // Same config, other calibration tokens in the same file.
  test_support::write_calib_tokens(dir_ / "calib.tokens", 65536, 777);
  EXPECT_EQ(run(job("r"), {}, &log).code, 1);
  EXPECT_TRUE(contains(log, "calibration set differs")) << log;
  test_support::write_calib_tokens(dir_ / "calib.tokens", 65536);

  // Nothing in the run directory changed.
  EXPECT_EQ(file_bytes(dir_ / "r" / "fingerprint"), fp_before);
  EXPECT_EQ(file_bytes(dir_ / "r" / "checkpoint" / "block-00000.h5"), block0);
  EXPECT_EQ(run(job("r", {"--set", "run.resume=false"}), {}, &log).code, 1);
  EXPECT_TRUE(contains(log, "run.resume=false")) << log;
  EXPECT_EQ(run(job("r")).code, 0);
}

// calib.max_resident_gb only bounds memory while the streams stay f32
// (spilled: the same bytes), so a run resumes without it; one whose streams
// waited in bf16 does not, and the refusal names the streams' form.
TEST_F(Resume, MemoryLimitChangesResumeUnlessTheStreamsChangeForm) {
  ASSERT_EQ(run(job("ref")).code, 0);
  const std::vector<std::string> limit = {"--set", "calib.max_resident_gb=0.00001"};
  ASSERT_TRUE(run(job("spilled", limit), {"MACA_FAULT_CHECKPOINT=kill:1"}).signaled);
  ASSERT_TRUE(fs::exists(dir_ / "spilled" / "checkpoint" / "block-00000.h5"));
  std::string log;
  ASSERT_EQ(run(job("spilled"), {}, &log).code, 0) << log;
  expect_same_outputs("ref", "spilled");

  std::vector<std::string> bf16 = limit;
  for (const char* a : {"--set", "calib.overflow=bf16"}) bf16.push_back(a);
  ASSERT_TRUE(run(job("bf16", bf16), {"MACA_FAULT_CHECKPOINT=kill:1"}).signaled);
  EXPECT_EQ(run(job("bf16"), {}, &log).code, 1);
  EXPECT_TRUE(contains(log, "cannot resume") && contains(log, "calibration streams between blocks was bf16, now f32"))
      << log;
  EXPECT_EQ(run(job("bf16", bf16), {}, &log).code, 0) << log;
}

TEST_F(Resume, ChangedModelFilesAreRefused) {
  fs::copy(fs::path(MACA_FIXTURES) / "model" / "llama", dir_ / "model");
  std::vector<std::string> a = job("r", {"--set", "model.path=" + (dir_ / "model").string()});
  ASSERT_TRUE(run(a, {"MACA_FAULT_CHECKPOINT=kill:1"}).signaled);
  {  // flip the last byte of the weights
    std::fstream f(dir_ / "model" / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-1, std::ios::end);
    const char b = static_cast<char>(f.get() ^ 0x5a);
    f.seekp(-1, std::ios::end);
    f.put(b);
  }
  std::string log;
  EXPECT_EQ(run(a, {}, &log).code, 1);
  EXPECT_TRUE(contains(log, "model file model.safetensors: content differs")) << log;
}

TEST_F(Resume, FullDiskKeepsTheFinishedBlocks) {
  ASSERT_EQ(run(job("ref")).code, 0);
  ASSERT_TRUE(run(job("r"), {"MACA_FAULT_CHECKPOINT=kill:1"}).signaled);
  const std::string block0 = file_bytes(dir_ / "r" / "checkpoint" / "block-00000.h5");
  std::string log;
  EXPECT_EQ(run(job("r"), {"MACA_FAULT_CHECKPOINT=enospc"}, &log).code, 1);
  EXPECT_TRUE(contains(log, "block-00001.h5")) << log;
  EXPECT_EQ(file_bytes(dir_ / "r" / "checkpoint" / "block-00000.h5"), block0);
  EXPECT_FALSE(fs::exists(dir_ / "r" / "checkpoint" / "block-00001.h5"));
  EXPECT_FALSE(fs::exists(dir_ / "r" / "checkpoint" / "block-00001.h5.tmp"));
  ASSERT_EQ(run(job("r"), {}, &log).code, 0) << log;
  expect_same_outputs("ref", "r");
}

TEST_F(Resume, UnwritableRunDirectoryIsAClearError) {
  // A path below a regular file cannot be created, even by root.
  test_support::write_calib_tokens(dir_ / "plain_file", 4);
  std::string log;
  EXPECT_EQ(run(job("plain_file/run"), {}, &log).code, 1);
  EXPECT_TRUE(contains(log, "cannot create run directory")) << log;

  // A checkpoint directory that cannot be written: the error names the file.
  ASSERT_TRUE(run(job("r"), {"MACA_FAULT_CHECKPOINT=kill:1"}).signaled);
  const std::string block0 = file_bytes(dir_ / "r" / "checkpoint" / "block-00000.h5");
  if (geteuid() != 0) {
    fs::permissions(dir_ / "r" / "checkpoint", fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_EQ(run(job("r"), {}, &log).code, 1);
    EXPECT_TRUE(contains(log, "block-00001.h5")) << log;
    fs::permissions(dir_ / "r" / "checkpoint", fs::perms::owner_all);
    EXPECT_EQ(file_bytes(dir_ / "r" / "checkpoint" / "block-00000.h5"), block0);
  }
}

TEST_F(Resume, ExportRebuildsTheOutputsFromTheCheckpoint) {
  ASSERT_EQ(run(job("ref")).code, 0);
  fs::copy(dir_ / "ref", dir_ / "copy", fs::copy_options::recursive);
  fs::remove_all(dir_ / "copy" / "gptq");
  fs::remove_all(dir_ / "copy" / "fake_quant");
  std::string log;
  ASSERT_EQ(run({MACA_BINARY, "export", (dir_ / "copy").string()}, {}, &log).code, 0) << log;
  expect_same_outputs("ref", "copy");

  // An unfinished run cannot be exported.
  ASSERT_TRUE(run(job("half"), {"MACA_FAULT_CHECKPOINT=kill:1"}).signaled);
  EXPECT_EQ(run({MACA_BINARY, "export", (dir_ / "half").string()}, {}, &log).code, 1);
  EXPECT_TRUE(contains(log, "holds blocks 0..0 of 2")) << log;
}

}  // namespace
