// How work is divided between ranks; pure functions of sizes, so every rank
// computes the same answer without communicating.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace maca::parallel {

// Owner rank of each calibration sequence, balanced by token count
// (MaCa lengths differ): longest first onto the least-loaded rank, ties to
// the lower rank and the earlier sequence. Deterministic.
std::vector<int> shard_by_tokens(std::span<const int64_t> lengths, int ranks);

// Contiguous row ranges [begin, end) of a layer with `rows` rows, one per
// rank, each starting at a multiple of `quantum` (the rounders' row tile, so
// a slice gives the same bits as those rows of the whole layer). Every row of
// a layer costs the same to round (one pass over the same H), so slices of
// equal quantum counts are the cost balance; the first ones get one quantum
// more, the last one the remainder.
struct RowRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
std::vector<RowRange> split_rows(int64_t rows, int ranks, int64_t quantum = 1);

// `owner` mode: whole layers per rank, balanced by cost (largest first onto
// the least-loaded rank). Returns the owner of each layer.
std::vector<int> assign_owners(std::span<const double> costs, int ranks);

// CPU threads for one rank: `requested` when set (> 0), else this node's
// cores shared evenly among the ranks on it (at least 1), so P ranks on one
// machine do not oversubscribe it.
int threads_per_rank(int requested, int local_ranks);

// The CUDA device (an index among the GPUs this process sees) of the rank
// `local_rank` of the `local_ranks` ranks on its node: one rank per GPU.
// When every rank sees the node's GPUs, rank i takes GPU i. When the launcher
// gives each task its own GPU (srun --gpus-per-task=1 sets
// CUDA_VISIBLE_DEVICES per task), every rank sees exactly one: GPU 0. (Ranks
// that merely share one visible GPU look the same from here; NCCL refuses
// them at setup with "duplicate GPU".) Throws maca::Error when no GPU is
// visible, or when 1 < visible_gpus < local_ranks (ranks would share GPUs).
// Every rank of a node gets the same verdict from the same counts.
//
// local_rank and local_ranks are Comm::local_rank()/local_size(), which MPI
// derives from MPI_Comm_split_type(SHARED). SLURM_LOCALID is not consulted: a
// job without MPI runs as a single process (world() refuses srun with several
// tasks but no MPI), whose local rank is 0 either way.
int local_gpu(int local_rank, int local_ranks, int visible_gpus);

}  // namespace maca::parallel
