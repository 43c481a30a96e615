// Per-block checkpoint files (formats.md "HDF5 checkpoint", design.md
// "Checkpoint and resume"): when a transformer block is finished, its rounded
// layers go to ckpt_dir/block-00007.h5, so host memory does not grow with the
// model and a killed or preempted run resumes after its last finished block.
//
// File layout (HDF5, readable by HDF5 >= 1.8 and h5py):
//   /                root attributes: format_version (1), fingerprint (the
//                    run's digest, fingerprint.h), block, maca_version,
//                    layers (JSON array of layer names, in order), skipped
//                    (JSON array), stats (JSON text)
//   /<layer name>    one group per layer, named by the HF module name
//                    ("model.layers.7.self_attn.q_proj"), holding datasets
//                    codes u8 [rows, cols], scales f32 [n_groups, rows],
//                    zeros i32 [n_groups, rows], g_idx i32 [cols],
//                    perm i32 [cols] and attributes rows, cols, bits,
//                    group_size, sym, act_order, static_groups (integers),
//                    loss, damp, alpha (doubles), method (string).
//
// A file is written to "<name>.tmp", synced and renamed (durable.h): a crash
// leaves either no file or a complete one, never a half-written block-*.h5.
//
// Fault injection for tests, environment variable MACA_FAULT_CHECKPOINT:
//   enospc     write_block fails as if the disk were full, after the first
//              layer of the temporary file has been written and flushed;
//   kill:<b>   write_block of block <b> raises SIGKILL at that same point
//              (temporary file partly written, nothing renamed).
// A block without layers is written without a fault point.
//
// HDF5 is not thread-safe as Debian builds it: call these functions from one
// thread at a time.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/quantized.h"

namespace maca::checkpoint {

inline constexpr int kBlockFormatVersion = 1;

// Everything a finished block contributes to the run.
struct BlockCheckpoint {
  int block = 0;
  // digest() of the run's Fingerprint (fingerprint.h).
  std::string fingerprint;
  // HF module name -> rounded layer, in the order they were rounded.
  std::vector<std::pair<std::string, QuantizedLinear>> layers;
  // Layers of this block kept in full precision.
  std::vector<std::string> skipped;
  // Per-block timings, per-layer records, ...: any JSON.
  nlohmann::json stats;
};

// ckpt_dir / "block-00007.h5".
std::filesystem::path block_path(const std::filesystem::path& ckpt_dir, int block);

// Writes block_path(ckpt_dir, ck.block) durably, creating ckpt_dir if needed
// and replacing an existing file only once the new one is complete. On any
// failure (HDF5 error, no space, no permission, failed rename) the temporary
// file is removed, existing files are untouched, and maca::FileError names the
// file and says what to do. Layers must be consistent (codes rows*cols, ...):
// an inconsistent layer is an internal assert.
void write_block(const std::filesystem::path& ckpt_dir, const BlockCheckpoint& ck);

// Reads a block file back, validating the format version, every attribute and
// every dataset's type and shape (codes [rows, cols], scales and zeros
// [n_groups, rows], g_idx and perm [cols]) and the value ranges that indexing
// relies on (codes < 2^bits, g_idx < n_groups, perm a permutation). A
// truncated, damaged or foreign file is a maca::FileError naming the file and,
// where known, the layer and dataset.
BlockCheckpoint read_block(const std::filesystem::path& file);

// The same without the datasets: every layer's header fields (rows, cols,
// bits, group size, flags, loss, method) with empty codes/scales/zeros/g_idx/
// perm; cheap, for planning an export.
BlockCheckpoint read_block_headers(const std::filesystem::path& file);

// Block indices of the block-*.h5 files in ckpt_dir, ascending; leftover
// *.tmp files are ignored. Empty when ckpt_dir does not exist.
std::vector<int> finished_blocks(const std::filesystem::path& ckpt_dir);

// Deletes leftover block-*.h5.tmp files of an interrupted write; returns how
// many were removed.
int remove_stale_temporaries(const std::filesystem::path& ckpt_dir);

}  // namespace maca::checkpoint
