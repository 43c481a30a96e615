// DeviceComm without a GPU (parallel/device_comm.h): the factory's choice,
// the staged path on one rank in this process, and — with MPI —
// device_comm_ranks under mpirun with P = 2 and 3, which checks that every
// collective gives exactly what the host Comm gives (all-reduce of 0, 1 and
// 1e6 + 3 int64 words; all-gather of uneven slices padded to the largest,
// also in place), on CPU buffers and on a host-backed fake device that runs
// the staging copies. The NCCL path is test_device_comm_gpu.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/context.h"
#include "core/error.h"
#include "core/tensor.h"
#include "parallel/device_comm.h"
#include "parallel/device_comm_run.h"
#include "parallel/host_backed_context.h"
#include "parallel/serial_comm.h"

namespace maca::parallel {
namespace {

TEST(DeviceComm, OneRankOnTheCpuIsTheStagedIdentity) {
  const auto host = make_serial_comm();
  const auto ctx = backend::Context::create(Device::cpu());
  const auto dc = make_device_comm(*host, *ctx);
  EXPECT_EQ(dc->name(), "staged:serial");
  EXPECT_EQ(dc->rank(), 0);
  EXPECT_EQ(dc->size(), 1);

  std::vector<int64_t> v = {3, -(int64_t{1} << 62), 0};
  dc->allreduce_sum(*ctx, v.data(), v.size());
  EXPECT_EQ(v, (std::vector<int64_t>{3, -(int64_t{1} << 62), 0}));
  dc->allreduce_sum(*ctx, nullptr, 0);

  const std::vector<uint8_t> mine = {1, 2, 3, 4, 5};
  std::vector<uint8_t> out(5, 0);
  dc->allgather(*ctx, mine.data(), mine.size(), out.data());
  EXPECT_EQ(out, mine);
  dc->allgather(*ctx, out.data(), out.size(), out.data());  // in place
  EXPECT_EQ(out, mine);
  dc->allgather(*ctx, nullptr, 0, nullptr);
}

TEST(DeviceComm, NcclNeedsACudaContext) {
  const auto host = make_serial_comm();
  const auto ctx = backend::Context::create(Device::cpu());
  EXPECT_THROW(make_nccl_comm(*host, *ctx), Error);
}

// One rank on a GPU: the staged path moves nothing through the host; an
// all-gather only copies its slice from `mine` to `out` on the device.
TEST(DeviceComm, OneRankOnADeviceNeedsNoTripThroughTheHost) {
  const auto host = make_serial_comm();
  test_support::HostBackedContext ctx;
  const auto dc = make_device_comm(*host, ctx);
  EXPECT_EQ(dc->name(), "staged:serial");
  Tensor words = ctx.empty({3}, DType::I64);
  auto* w = static_cast<int64_t*>(words.raw());
  w[0] = 7;
  w[1] = -7;
  w[2] = int64_t{1} << 60;
  dc->allreduce_sum(ctx, w, 3);
  EXPECT_EQ(std::vector<int64_t>(w, w + 3), (std::vector<int64_t>{7, -7, int64_t{1} << 60}));
  Tensor out = ctx.empty({24}, DType::U8);
  dc->allgather(ctx, w, 24, out.raw());
  EXPECT_EQ(std::memcmp(out.raw(), w, 24), 0);
  EXPECT_EQ(ctx.uploads + ctx.downloads, 0);
  EXPECT_EQ(ctx.copies, 1);
}

// Without NCCL, device buffers of several ranks take the staged path (whose
// copies device_comm_ranks --device host-backed checks under mpirun below).
TEST(DeviceComm, DeviceBuffersWithoutNcclTakeTheStagedPath) {
  if (built_with_nccl()) GTEST_SKIP() << "this build has NCCL: several GPU ranks get an NCCL communicator";
  class TwoRanks final : public Comm {
   public:
    int rank() const override { return 0; }
    int size() const override { return 2; }
    std::string name() const override { return "two"; }
    int local_rank() const override { return 0; }
    int local_size() const override { return 2; }
    void allreduce_sum(std::span<int64_t>) override {}
    void reduce_sum(std::span<int64_t>, int) override {}
    int64_t allreduce_max(int64_t v) override { return v; }
    std::vector<std::vector<uint8_t>> allgather(std::span<const uint8_t>) override { return {}; }
    void broadcast(std::vector<uint8_t>&, int) override {}
    void barrier() override {}
    std::shared_ptr<NodeShared> node_shared(size_t) override { return nullptr; }
    [[noreturn]] void abort(int code) override { std::_Exit(code); }
  } host;
  test_support::HostBackedContext ctx;
  EXPECT_EQ(make_device_comm(host, ctx)->name(), "staged:two");
}

TEST(DeviceComm, StagedPathOnOneRankMatchesTheHostComm) {
  for (const std::string device : {"cpu", "host-backed"}) {
    const test_support::RanksRun r = test_support::run_device_comm_ranks(0, {"--device", device});
    EXPECT_EQ(r.exit.code, 0) << r.output;
    EXPECT_NE(r.output.find("staged:serial on " + device + ", P=1: PASS"), std::string::npos) << r.output;
  }
}

#ifdef MACA_MPIEXEC
class DeviceCommMpi : public ::testing::TestWithParam<int> {};

// "cpu": the host Comm on host buffers; "host-backed": the whole staging
// round trip (to_host, host Comm, to_device, copy into place).
TEST_P(DeviceCommMpi, StagedPathMatchesTheHostComm) {
  const int ranks = GetParam();
  for (const std::string device : {"cpu", "host-backed"}) {
    const test_support::RanksRun r = test_support::run_device_comm_ranks(ranks, {"--device", device});
    EXPECT_EQ(r.exit.code, 0) << r.output;
    EXPECT_NE(r.output.find("staged:mpi on " + device + ", P=" + std::to_string(ranks) + ": PASS"), std::string::npos)
        << r.output;
  }
}

INSTANTIATE_TEST_SUITE_P(Ranks, DeviceCommMpi, ::testing::Values(2, 3));
#endif

}  // namespace
}  // namespace maca::parallel
