// Work division between ranks: sequences balanced by tokens, contiguous row
// slices, owners balanced by cost; all deterministic.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "parallel/partition.h"
#include "parallel/serial_comm.h"

namespace maca::parallel {
namespace {

TEST(Partition, SequencesAreBalancedByTokens) {
  // MaCa-like lengths: one long sequence and many short ones.
  const std::vector<int64_t> lengths = {2048, 256, 256, 512, 1024, 256, 256, 512, 1024, 128};
  for (int ranks : {1, 2, 3, 4}) {
    const std::vector<int> owner = shard_by_tokens(lengths, ranks);
    ASSERT_EQ(owner.size(), lengths.size());
    std::vector<int64_t> load(static_cast<size_t>(ranks), 0);
    for (size_t i = 0; i < lengths.size(); ++i) load[static_cast<size_t>(owner[i])] += lengths[i];
    const int64_t total = std::accumulate(lengths.begin(), lengths.end(), int64_t{0});
    const int64_t most = *std::max_element(load.begin(), load.end());
    // Greedy LPT: the heaviest rank exceeds the mean by at most the longest sequence.
    EXPECT_LE(most, total / ranks + 2048) << ranks;
    EXPECT_EQ(owner, shard_by_tokens(lengths, ranks)) << "deterministic";
  }
  EXPECT_EQ(shard_by_tokens(std::vector<int64_t>{100, 100, 100, 100}, 2), (std::vector<int>{0, 1, 0, 1}));
}

TEST(Partition, RowsSplitIntoContiguousNearEqualSlices) {
  const std::vector<RowRange> r = split_rows(10, 4);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].begin, 0);
  for (size_t i = 0; i + 1 < r.size(); ++i) EXPECT_EQ(r[i].end, r[i + 1].begin);
  EXPECT_EQ(r.back().end, 10);
  EXPECT_EQ(r[0].size(), 3);
  EXPECT_EQ(r[1].size(), 3);
  EXPECT_EQ(r[2].size(), 2);
  EXPECT_EQ(r[3].size(), 2);
  // More ranks than rows: the extra ranks get empty slices.
  const std::vector<RowRange> few = split_rows(2, 4);
  EXPECT_EQ(few[2].size(), 0);
  EXPECT_EQ(few[3].size(), 0);
  EXPECT_THROW(split_rows(4, 0), Error);
}

TEST(Partition, RowSlicesStartAtMultiplesOfTheQuantum) {
  const std::vector<RowRange> r = split_rows(100, 3, 32);  // 4 quanta: 2, 1, 1
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].begin, 0);
  EXPECT_EQ(r[0].end, 64);
  EXPECT_EQ(r[1].end, 96);
  EXPECT_EQ(r[2].end, 100);
  const std::vector<RowRange> few = split_rows(40, 3, 32);  // 2 quanta for 3 ranks
  EXPECT_EQ(few[0].size(), 32);
  EXPECT_EQ(few[1].size(), 8);
  EXPECT_EQ(few[2].size(), 0);
  for (const auto& s : split_rows(1000, 7, 32)) EXPECT_EQ(s.begin % 32, 0);
}

TEST(Partition, OwnersBalanceCost) {
  const std::vector<double> cost = {8, 1, 1, 6};  // q, k, v, o-like
  EXPECT_EQ(assign_owners(cost, 2), (std::vector<int>{0, 1, 1, 1}));
  EXPECT_EQ(assign_owners(cost, 1), (std::vector<int>{0, 0, 0, 0}));
}

TEST(Partition, ThreadsAreSharedAmongTheRanksOfANode) {
  EXPECT_EQ(threads_per_rank(3, 4), 3);  // an explicit count wins
  EXPECT_EQ(threads_per_rank(0, 1), 0);  // one rank: the library default
  EXPECT_GE(threads_per_rank(0, 64), 1);
}

TEST(Partition, OneGpuPerRankOfANode) {
  // Every GPU of the node visible to every rank: rank i takes GPU i.
  for (int r = 0; r < 4; ++r) EXPECT_EQ(local_gpu(r, 4, 4), r);
  EXPECT_EQ(local_gpu(1, 2, 8), 1);  // fewer ranks than GPUs: the first ones
  EXPECT_EQ(local_gpu(0, 1, 1), 0);
  // srun --gpus-per-task=1: each rank sees only its own GPU, as device 0.
  for (int r = 0; r < 4; ++r) EXPECT_EQ(local_gpu(r, 4, 1), 0);
}

TEST(Partition, RanksThatWouldShareGpusAreRefused) {
  try {
    local_gpu(0, 8, 4);  // every rank of the node gets the same verdict, rank 0 included
    FAIL() << "8 ranks on 4 GPUs accepted";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("8 ranks on this node but 4 GPUs visible"), std::string::npos) << m;
    EXPECT_NE(m.find("--gpus-per-task=1"), std::string::npos) << m;
    EXPECT_NE(m.find("--ntasks-per-node=4"), std::string::npos) << m;
  }
  EXPECT_THROW(local_gpu(7, 8, 4), Error);
  EXPECT_THROW(local_gpu(0, 3, 2), Error);
  try {
    local_gpu(0, 1, 0);
    FAIL() << "no GPU accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no CUDA device is visible"), std::string::npos) << e.what();
  }
}

TEST(SerialComm, CollectivesAreTheIdentity) {
  const auto comm = make_serial_comm();
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  std::vector<int64_t> v = {15, -25};
  comm->allreduce_sum(std::span<int64_t>(v));
  EXPECT_EQ(v, (std::vector<int64_t>{15, -25}));
  EXPECT_EQ(comm->allreduce_max(7), 7);
  const std::vector<uint8_t> mine = {1, 2, 3};
  const auto all = comm->allgather(mine);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], mine);
}

}  // namespace
}  // namespace maca::parallel
