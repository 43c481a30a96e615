#include "pipeline/run_checkpoint.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>

#include "core/error.h"
#include "core/log.h"

namespace maca::pipeline {
namespace {

namespace fs = std::filesystem;

// Rank 0's decision (or its error) for every rank: the finished block count.
int decide_on_rank0(const fs::path& run_dir, const checkpoint::Fingerprint& fp, bool resume) {
  const fs::path ckpt = run_dir / "checkpoint";
  const std::optional<checkpoint::Fingerprint> stored = checkpoint::read_fingerprint(run_dir);
  const int have = fs::exists(ckpt) ? finished_prefix(ckpt) : 0;
  if (!stored) {
    if (have > 0)
      MACA_THROW(FileError, "run.dir '{}' has {} checkpoint block(s) but no fingerprint file, so they cannot be "
                 "matched to this job; remove '{}' or choose another run.dir", run_dir.string(), have, ckpt.string());
    checkpoint::write_fingerprint(run_dir, fp);
    return 0;
  }
  const std::vector<std::string> diff = checkpoint::differences(*stored, fp);
  if (!diff.empty())
    MACA_THROW(ConfigError, "cannot resume the run in '{}': it was started with a different job:\n  {}\nRerun with "
               "the original settings, or choose another run.dir to start afresh", run_dir.string(),
               fmt::join(diff, "\n  "));
  if (have > 0 && !resume)
    MACA_THROW(ConfigError, "run.dir '{}' holds {} finished block(s) and run.resume=false; set run.resume=true to "
               "continue it or choose another run.dir", run_dir.string(), have);
  if (fs::exists(ckpt)) {
    if (const int removed = checkpoint::remove_stale_temporaries(ckpt); removed > 0)
      spdlog::info("removed {} unfinished checkpoint write(s) left by an interrupted run", removed);
  }
  return have;
}

}  // namespace

int finished_prefix(const fs::path& ckpt_dir) {
  int k = 0;
  for (int b : checkpoint::finished_blocks(ckpt_dir)) {
    if (b != k) break;
    ++k;
  }
  return k;
}

RunCheckpoint RunCheckpoint::open(const fs::path& run_dir, const checkpoint::Fingerprint& fingerprint, bool resume,
                                  parallel::Comm& comm) {
  int64_t finished = 0;
  if (comm.rank() == 0) finished = decide_on_rank0(run_dir, fingerprint, resume);
  std::vector<uint8_t> bytes(sizeof finished);
  std::memcpy(bytes.data(), &finished, sizeof finished);
  comm.broadcast(bytes, 0);
  std::memcpy(&finished, bytes.data(), sizeof finished);
  if (finished > 0) spdlog::info("resuming from {}: blocks 0..{} are finished", run_dir.string(), finished - 1);
  return RunCheckpoint(run_dir / "checkpoint", checkpoint::digest(fingerprint), static_cast<int>(finished));
}

RunCheckpoint RunCheckpoint::open_finished(const fs::path& run_dir) {
  const std::optional<checkpoint::Fingerprint> stored = checkpoint::read_fingerprint(run_dir);
  if (!stored)
    MACA_THROW(FileError, "'{}' is not a maca quantize run directory (no fingerprint file); give the run.dir of a "
               "quantize run", run_dir.string());
  const fs::path ckpt = run_dir / "checkpoint";
  return RunCheckpoint(ckpt, checkpoint::digest(*stored), fs::exists(ckpt) ? finished_prefix(ckpt) : 0);
}

checkpoint::BlockCheckpoint RunCheckpoint::load(int b) const {
  checkpoint::BlockCheckpoint ck = checkpoint::read_block(checkpoint::block_path(dir_, b));
  check_owner(ck, b);
  return ck;
}

checkpoint::BlockCheckpoint RunCheckpoint::load_headers(int b) const {
  checkpoint::BlockCheckpoint ck = checkpoint::read_block_headers(checkpoint::block_path(dir_, b));
  check_owner(ck, b);
  return ck;
}

void RunCheckpoint::check_owner(const checkpoint::BlockCheckpoint& ck, int b) const {
  if (ck.block != b || ck.fingerprint != digest_)
    MACA_THROW(FileError, "checkpoint file '{}' holds block {} of run {}, expected block {} of run {}; the checkpoint "
               "directory was mixed with another run's files", checkpoint::block_path(dir_, b).string(), ck.block,
               ck.fingerprint, b, digest_);
}

void RunCheckpoint::commit(checkpoint::BlockCheckpoint block, const parallel::Comm& comm) {
  MACA_ASSERT(block.block == finished_, "blocks are committed in order (got {}, expected {})", block.block, finished_);
  if (comm.rank() == 0) {
    block.fingerprint = digest_;
    checkpoint::write_block(dir_, block);
  }
  ++finished_;
}

}  // namespace maca::pipeline
