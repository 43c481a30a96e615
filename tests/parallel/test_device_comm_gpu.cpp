// DeviceComm on GPUs (parallel/device_comm.h); skips when no CUDA device is
// visible (or the build has no NCCL). device_comm_ranks checks every
// collective against the host Comm: the NCCL path on one GPU with a one-rank
// communicator (valid in NCCL), with the default chunk and with a small one
// that drives the chunked all-reduce and the grouped-broadcast all-gather;
// on a node with 2 or more GPUs also under mpirun with one rank per GPU (up
// to 4), which is where NCCL really moves data between devices.
// bench/gpu/check.sh runs these with the other gpu tests (ctest -L gpu): on a
// one-GPU machine the first and last; on a multi-GPU node all three.
// Multi-node NCCL is only exercised by real jobs (slurm/quantize.sbatch with
// GPUS_PER_NODE).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/context.h"
#include "core/tensor.h"
#include "parallel/device_comm.h"
#include "parallel/device_comm_run.h"
#include "parallel/serial_comm.h"

namespace maca::parallel {
namespace {

#define REQUIRE_GPU_AND_NCCL()                                                                       \
  do {                                                                                               \
    if (backend::cuda_device_count() < 1) GTEST_SKIP() << "no CUDA device visible";                  \
    if (!built_with_nccl()) GTEST_SKIP() << "this maca was built without NCCL (MACA_WITH_NCCL=OFF)"; \
  } while (0)

TEST(DeviceCommGpu, NcclOnOneGpuMatchesTheHostComm) {
  REQUIRE_GPU_AND_NCCL();
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--device", "cuda", "--nccl"}, {"--device", "cuda", "--chunk", "4096"}}) {
    const test_support::RanksRun r = test_support::run_device_comm_ranks(0, args);
    EXPECT_EQ(r.exit.code, 0) << r.output;
    EXPECT_NE(r.output.find("nccl on cuda:0, P=1: PASS"), std::string::npos) << r.output;
  }
}

TEST(DeviceCommGpu, NcclOnEveryGpuOfTheNodeMatchesTheHostComm) {
  REQUIRE_GPU_AND_NCCL();
#ifndef MACA_MPIEXEC
  GTEST_SKIP() << "built without MPI";
#else
  const int gpus = backend::cuda_device_count();
  if (gpus < 2) GTEST_SKIP() << "one GPU visible; NCCL between GPUs needs at least 2";
  const int ranks = std::min(gpus, 4);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--device", "cuda"}, {"--device", "cuda", "--chunk", "4096"}}) {
    const test_support::RanksRun r = test_support::run_device_comm_ranks(ranks, args, 300);
    EXPECT_EQ(r.exit.code, 0) << r.output;
    EXPECT_NE(r.output.find("nccl on cuda:0, P=" + std::to_string(ranks) + ": PASS"), std::string::npos) << r.output;
  }
#endif
}

// One rank on a GPU takes the staged path, whose collectives are then the
// identity: no NCCL communicator, no copies.
TEST(DeviceCommGpu, OneRankStagedPathLeavesDeviceDataAlone) {
  if (backend::cuda_device_count() < 1) GTEST_SKIP() << "no CUDA device visible";
  const auto host = make_serial_comm();
  const auto ctx = backend::Context::create(Device::cuda(0));
  const auto dc = make_device_comm(*host, *ctx);
  EXPECT_EQ(dc->name(), "staged:serial");
  Tensor h = Tensor::empty({5}, DType::I64);
  for (int64_t i = 0; i < 5; ++i) h.data<int64_t>()[i] = (i - 2) * (int64_t{1} << 50);
  Tensor d = ctx->to_device(h);
  dc->allreduce_sum(*ctx, static_cast<int64_t*>(d.raw()), 5);
  dc->allgather(*ctx, d.raw(), d.nbytes(), d.raw());
  const Tensor back = ctx->to_host(d);
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(back.data<int64_t>()[i], (i - 2) * (int64_t{1} << 50));
}

}  // namespace
}  // namespace maca::parallel
