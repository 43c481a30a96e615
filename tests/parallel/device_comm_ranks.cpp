// The MPI program behind test_device_comm(_gpu): on every rank, runs
// DeviceComm's collectives (parallel/device_comm.h) on buffers of one context
// and checks that they give exactly what the host Comm gives for the same
// data: all-reduce of int64 buffers of 0, 1 and 1e6 + 3 words, reduce to the
// last and to the first rank, and all-gather
// of uneven row slices padded to the largest (also in place), plus the bytes
// counted in the host Comm's stats. Mismatches are summed over the ranks
// before rank 0 prints one line, "device_comm_ranks: <name> on <device>, P=<n>:
// PASS" (or "FAIL, <k> mismatches"); the exit code is 0 on PASS.
//
//   mpirun -np 3 device_comm_ranks                      # CPU context: the staged path
//   mpirun -np 3 device_comm_ranks --device host-backed # staged, with copies (no GPU needed)
//   mpirun -np 4 device_comm_ranks --device cuda        # one GPU per rank: NCCL
//   device_comm_ranks --device cuda --nccl              # NCCL even with one rank
//
// --chunk BYTES sets the NCCL chunk (kNcclChunkBytes by default), so small
// buffers cover the chunked paths.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/context.h"
#include "core/splitmix.h"
#include "core/tensor.h"
#include "parallel/comm.h"
#include "parallel/device_comm.h"
#include "parallel/host_backed_context.h"
#include "parallel/partition.h"

namespace {

using maca::DType;
using maca::Tensor;
namespace parallel = maca::parallel;

struct Checker {
  parallel::Comm& comm;
  maca::backend::Context& ctx;
  parallel::DeviceComm& dc;
  int64_t mismatches = 0;

  void expect(bool ok, const std::string& what) {
    if (ok) return;
    ++mismatches;
    std::fprintf(stderr, "rank %d: %s\n", comm.rank(), what.c_str());
  }

  // The byte counts a collective added to the host Comm's stats: `want`, or
  // nothing from the serial Comm, which counts no traffic.
  bool counted_ok(int64_t counted, size_t want) const {
    return counted == static_cast<int64_t>(want) || (comm.size() == 1 && counted == 0);
  }

  void allreduce(size_t n) {
    Tensor mine = Tensor::empty({static_cast<int64_t>(n)}, DType::I64);
    maca::SplitMix g{0x5eed0000ull + static_cast<uint64_t>(comm.rank()) * 0x100000001ull + n};
    // Fixed-point-like words of both signs, far from overflow for any rank count here.
    for (size_t i = 0; i < n; ++i) mine.data<int64_t>()[i] = static_cast<int64_t>(g.next() >> 24) - (int64_t{1} << 39);
    std::vector<int64_t> want(mine.data<int64_t>(), mine.data<int64_t>() + n);
    comm.allreduce_sum(std::span<int64_t>(want));

    Tensor dev = ctx.to_device(mine);
    const int64_t before = comm.stats().allreduce_bytes;
    dc.allreduce_sum(ctx, n ? static_cast<int64_t*>(dev.raw()) : nullptr, n);
    const int64_t counted = comm.stats().allreduce_bytes - before;
    const Tensor got = ctx.to_host(dev);
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) bad += got.data<int64_t>()[i] != want[i];
    expect(bad == 0, "allreduce_sum of " + std::to_string(n) + " words: " + std::to_string(bad) + " differ");
    expect(counted_ok(counted, n * sizeof(int64_t)),
           "allreduce_sum of " + std::to_string(n) + " words counted " + std::to_string(counted) + " bytes");
  }

  // reduce_sum to `root`, on the host Comm and on the DeviceComm: root gets
  // the all-reduce's words, every other rank keeps its own.
  void reduce(size_t n, int root) {
    Tensor mine = Tensor::empty({static_cast<int64_t>(n)}, DType::I64);
    maca::SplitMix g{0x7ed0000ull + static_cast<uint64_t>(comm.rank()) * 0x100000001ull + n};
    for (size_t i = 0; i < n; ++i) mine.data<int64_t>()[i] = static_cast<int64_t>(g.next() >> 24) - (int64_t{1} << 39);
    const std::vector<int64_t> own(mine.data<int64_t>(), mine.data<int64_t>() + n);
    std::vector<int64_t> sum = own;
    comm.allreduce_sum(std::span<int64_t>(sum));
    const std::vector<int64_t>& want = comm.rank() == root ? sum : own;
    const std::string what = "reduce_sum of " + std::to_string(n) + " words to rank " + std::to_string(root);

    std::vector<int64_t> host = own;
    comm.reduce_sum(std::span<int64_t>(host), root);
    expect(host == want, "host " + what);

    Tensor dev = ctx.to_device(mine);
    const int64_t before = comm.stats().reduce_bytes;
    dc.reduce_sum(ctx, n ? static_cast<int64_t*>(dev.raw()) : nullptr, n, root);
    const int64_t counted = comm.stats().reduce_bytes - before;
    const Tensor got = ctx.to_host(dev);
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) bad += got.data<int64_t>()[i] != want[i];
    expect(bad == 0, what + ": " + std::to_string(bad) + " differ");
    expect(counted_ok(counted, n * sizeof(int64_t)), what + " counted " + std::to_string(counted) + " bytes");
  }

  // `rows` rows of `row_bytes` bytes split over the ranks (split_rows with
  // `quantum`): uneven slices, each padded to the largest with 0xEE.
  void allgather(int64_t rows, size_t row_bytes, int64_t quantum, bool in_place) {
    const auto slices = parallel::split_rows(rows, comm.size(), quantum);
    size_t pad = 0;
    for (const auto& s : slices) pad = std::max(pad, static_cast<size_t>(s.size()) * row_bytes);
    const size_t len = static_cast<size_t>(slices[static_cast<size_t>(comm.rank())].size()) * row_bytes;
    const size_t p = static_cast<size_t>(comm.size()), me = static_cast<size_t>(comm.rank());
    std::vector<uint8_t> mine(pad, 0xEE);
    maca::SplitMix g{0xa11ull * (me + 1) + static_cast<uint64_t>(rows)};
    for (size_t i = 0; i < len; ++i) mine[i] = static_cast<uint8_t>(g.next());
    const auto want = comm.allgather(std::span<const uint8_t>(mine.data(), len));  // true sizes

    Tensor out_host = Tensor::zeros({static_cast<int64_t>(p * pad)}, DType::U8);
    if (in_place && pad) std::memcpy(out_host.data<uint8_t>() + me * pad, mine.data(), pad);
    Tensor out = ctx.to_device(out_host);
    Tensor mine_dev;
    const void* src = nullptr;
    if (in_place) {
      src = static_cast<uint8_t*>(out.raw()) + me * pad;
    } else {
      Tensor m = Tensor::empty({static_cast<int64_t>(pad)}, DType::U8);
      if (pad) std::memcpy(m.raw(), mine.data(), pad);
      mine_dev = ctx.to_device(m);
      src = mine_dev.raw();
    }
    const int64_t before = comm.stats().allgather_bytes;
    dc.allgather(ctx, src, pad, out.raw());
    const int64_t counted = comm.stats().allgather_bytes - before;
    const Tensor got = ctx.to_host(out);

    const std::string what = "allgather of " + std::to_string(rows) + " rows x " + std::to_string(row_bytes) +
                             " bytes (quantum " + std::to_string(quantum) + (in_place ? ", in place)" : ")");
    expect(want.size() == p, what + ": host Comm returned " + std::to_string(want.size()) + " slices");
    for (size_t r = 0; r < want.size() && r < p; ++r) {
      const uint8_t* at = got.data<uint8_t>() + r * pad;
      const size_t n = want[r].size();
      expect(n <= pad && std::memcmp(at, want[r].data(), n) == 0, what + ": rank " + std::to_string(r) + "'s slice");
      size_t bad_pad = 0;
      for (size_t i = n; i < pad; ++i) bad_pad += at[i] != 0xEE;
      expect(bad_pad == 0, what + ": rank " + std::to_string(r) + "'s padding");
    }
    expect(counted_ok(counted, (p - 1) * pad), what + ": counted " + std::to_string(counted) + " bytes received");
  }
};

int run(int argc, char** argv) {
  parallel::Comm& comm = parallel::world();
  std::string device_arg = "cpu";
  bool force_nccl = false;
  size_t chunk = parallel::kNcclChunkBytes;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--device" && i + 1 < argc) {
      device_arg = argv[++i];
      if (device_arg != "cpu" && device_arg != "cuda" && device_arg != "host-backed")
        throw std::runtime_error("--device cpu|cuda|host-backed, got " + device_arg);
    } else if (a == "--nccl") {
      force_nccl = true;
    } else if (a == "--chunk" && i + 1 < argc) {
      chunk = std::strtoull(argv[++i], nullptr, 10);
    } else {
      throw std::runtime_error("unknown argument " + a);
    }
  }
  std::unique_ptr<maca::backend::Context> ctx;
  if (device_arg == "host-backed")
    ctx = std::make_unique<test_support::HostBackedContext>();
  else if (device_arg == "cuda")
    ctx = maca::backend::Context::create(maca::Device::cuda(
        parallel::local_gpu(comm.local_rank(), comm.local_size(), maca::backend::cuda_device_count())));
  else
    ctx = maca::backend::Context::create(maca::Device::cpu(), 1);
  std::unique_ptr<parallel::DeviceComm> dc;
  if (device_arg == "host-backed")
    dc = parallel::make_staged_comm(comm);
  else if (force_nccl || chunk != parallel::kNcclChunkBytes)
    dc = parallel::make_nccl_comm(comm, *ctx, chunk);
  else
    dc = parallel::make_device_comm(comm, *ctx);
  const std::string device = device_arg == "host-backed" ? "host-backed" : ctx->device().str();
  Checker c{comm, *ctx, *dc};
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000003}}) c.allreduce(n);
  for (size_t n : {size_t{0}, size_t{5}, size_t{1000003}}) c.reduce(n, comm.size() - 1);
  c.reduce(17, 0);
  for (bool in_place : {false, true}) {
    c.allgather(1001, 3, 1, in_place);     // uneven by one row
    c.allgather(100, 1000, 32, in_place);  // uneven by quanta; P = 3: 64, 32, 4 rows
    c.allgather(2, 5, 1, in_place);        // P = 3: a rank with no rows
    c.allgather(0, 7, 1, in_place);        // nothing at all
  }
  std::vector<int64_t> total = {c.mismatches};
  comm.allreduce_sum(std::span<int64_t>(total));
  if (comm.rank() == 0) {
    if (total[0] == 0)
      std::printf("device_comm_ranks: %s on %s, P=%d: PASS\n", dc->name().c_str(), device.c_str(), comm.size());
    else
      std::printf("device_comm_ranks: %s on %s, P=%d: FAIL, %lld mismatches\n", dc->name().c_str(), device.c_str(),
                  comm.size(), static_cast<long long>(total[0]));
    std::fflush(stdout);
  }
  return total[0] == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  parallel::init_world(&argc, &argv);
  int code = 0;
  try {
    code = run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "device_comm_ranks: rank %d: %s\n", parallel::world().rank(), e.what());
    std::fflush(stderr);
    parallel::world().abort(2);  // the other ranks may be waiting in a collective
  }
  parallel::finalize_world();
  return code;
}
