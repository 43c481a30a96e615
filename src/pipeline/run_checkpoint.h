// The checkpoint of a quantize run (design.md "Checkpoint and resume"):
// run_dir/fingerprint plus run_dir/checkpoint/block-NNNNN.h5, one per
// finished block (src/checkpoint).
//
// open() decides, on rank 0 and for every rank, where a start continues:
// a fresh run directory starts at block 0; one whose fingerprint matches the
// job resumes after its last finished block (a prefix 0..k-1 of committed
// files; leftover temporaries of a killed write are removed); a different
// config, model, calibration set, rank count or version is refused with the
// differences named, before anything in the directory is touched. Every rank
// reads finished blocks from the shared run directory; only rank 0 writes.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "checkpoint/block_file.h"
#include "checkpoint/fingerprint.h"
#include "core/quantized.h"
#include "parallel/comm.h"

namespace maca::pipeline {

class RunCheckpoint {
 public:
  // `resume` false refuses a directory that already holds finished blocks.
  // Throws maca::ConfigError (mismatch, refused reuse) or FileError.
  static RunCheckpoint open(const std::filesystem::path& run_dir, const checkpoint::Fingerprint& fingerprint,
                            bool resume, parallel::Comm& comm);

  // For readers of a finished run (maca export): no fingerprint check beyond
  // the block files' agreement with run_dir/fingerprint.
  static RunCheckpoint open_finished(const std::filesystem::path& run_dir);

  int finished() const { return finished_; }  // blocks 0..finished()-1 are committed
  const std::filesystem::path& dir() const { return dir_; }

  // Block `b`, checked to belong to this run.
  checkpoint::BlockCheckpoint load(int b) const;
  // Block `b` without the layers' data (checkpoint::read_block_headers).
  checkpoint::BlockCheckpoint load_headers(int b) const;

  // Rank 0 commits block `b` durably; the other ranks only count it.
  void commit(checkpoint::BlockCheckpoint block, const parallel::Comm& comm);

 private:
  void check_owner(const checkpoint::BlockCheckpoint& ck, int b) const;

  RunCheckpoint(std::filesystem::path dir, std::string digest, int finished)
      : dir_(std::move(dir)), digest_(std::move(digest)), finished_(finished) {}

  std::filesystem::path dir_;  // run_dir/checkpoint
  std::string digest_;
  int finished_ = 0;
};

// The committed blocks 0..k-1 of `ckpt_dir` (a gap ends the prefix).
int finished_prefix(const std::filesystem::path& ckpt_dir);

}  // namespace maca::pipeline
