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

}  // namespace maca::parallel
