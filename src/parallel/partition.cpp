#include "parallel/partition.h"

#include <algorithm>
#include <numeric>
#include <thread>

#include "core/error.h"

namespace maca::parallel {
namespace {

// Greedy longest-processing-time assignment of weighted items to `ranks` bins.
template <class T>
std::vector<int> lpt(std::span<const T> weights, int ranks) {
  MACA_CHECK(ranks >= 1, "rank count must be at least 1 (got {})", ranks);
  std::vector<size_t> order(weights.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return weights[a] > weights[b]; });
  std::vector<double> load(static_cast<size_t>(ranks), 0.0);
  std::vector<int> owner(weights.size(), 0);
  for (size_t i : order) {
    const auto r = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[i] = static_cast<int>(r);
    load[r] += static_cast<double>(weights[i]);
  }
  return owner;
}

}  // namespace

std::vector<int> shard_by_tokens(std::span<const int64_t> lengths, int ranks) { return lpt(lengths, ranks); }

std::vector<int> assign_owners(std::span<const double> costs, int ranks) { return lpt(costs, ranks); }

std::vector<RowRange> split_rows(int64_t rows, int ranks, int64_t quantum) {
  MACA_CHECK(ranks >= 1, "rank count must be at least 1 (got {})", ranks);
  MACA_ASSERT(quantum >= 1, "split_rows: quantum {}", quantum);
  const int64_t units = (rows + quantum - 1) / quantum;
  std::vector<RowRange> out(static_cast<size_t>(ranks));
  const int64_t base = units / ranks, extra = units % ranks;
  int64_t at = 0;
  for (int r = 0; r < ranks; ++r) {
    const int64_t end = std::min(rows, at + (base + (r < extra ? 1 : 0)) * quantum);
    out[static_cast<size_t>(r)] = {at, end};
    at = end;
  }
  return out;
}

int threads_per_rank(int requested, int local_ranks) {
  if (requested > 0 || local_ranks <= 1) return requested;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / local_ranks);
}

int local_gpu(int local_rank, int local_ranks, int visible_gpus) {
  MACA_ASSERT(local_ranks >= 1 && local_rank >= 0 && local_rank < local_ranks, "local rank {} of {}", local_rank,
              local_ranks);
  MACA_CHECK(visible_gpus >= 1, "local rank {} of {} wants a GPU, but no CUDA device is visible (check the driver "
             "and CUDA_VISIBLE_DEVICES, ask Slurm for GPUs with --gpus-per-task=1, or use --device cpu)", local_rank,
             local_ranks);
  if (visible_gpus >= local_ranks) return local_rank;
  if (visible_gpus == 1) return 0;  // the launcher bound one GPU to each task
  MACA_THROW(Error, "{} ranks on this node but {} GPUs visible: launch one rank per GPU (srun --gpus-per-task=1 or "
             "--ntasks-per-node={})", local_ranks, visible_gpus, visible_gpus);
}

}  // namespace maca::parallel
