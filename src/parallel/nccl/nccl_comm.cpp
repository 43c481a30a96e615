// The NCCL DeviceComm (parallel/device_comm.h). src/CMakeLists.txt adds this
// file, and defines MACA_HAVE_NCCL, only when maca is built with NCCL; it is
// outside the parallel/ folder glob so no other build compiles it.
#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <thread>
#include <vector>

#include "backend/context.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timer.h"
#include "kernels/cuda/cuda_check.h"
#include "parallel/device_comm.h"

// The NCCL member of the check-macro family of kernels/cuda/cuda_check.h:
// throws maca::Error naming the failing statement, file and line.
#define MACA_NCCL_CHECK(stmt)                                                                                 \
  do {                                                                                                        \
    const ncclResult_t r_ = (stmt);                                                                           \
    if (r_ != ncclSuccess)                                                                                    \
      ::maca::kernels::cuda::throw_library_error("NCCL", static_cast<int>(r_), ncclGetErrorString(r_), #stmt, \
                                                 __FILE__, __LINE__);                                         \
  } while (0)

namespace maca::parallel {
namespace {

class NcclComm final : public DeviceComm {
 public:
  NcclComm(Comm& host, backend::Context& ctx, size_t chunk_bytes)
      : DeviceComm(host), device_(ctx.device()), chunk_bytes_(std::max<size_t>(chunk_bytes, sizeof(int64_t))) {
    MACA_CHECK(!device_.is_cpu(), "NCCL collectives need a CUDA context, got {}", device_.str());
    // Rank 0 creates the id; the others wait for it in the broadcast. A rank
    // that fails here ends the job, so none waits for it forever.
    ncclUniqueId id{};
    std::vector<uint8_t> bytes;
    if (rank() == 0) {
      joining([&] { MACA_NCCL_CHECK(ncclGetUniqueId(&id)); });
      const auto* p = reinterpret_cast<const uint8_t*>(&id);
      bytes.assign(p, p + sizeof(id));
    }
    host_.broadcast(bytes, 0);
    MACA_ASSERT(bytes.size() == sizeof(id), "NCCL id of {} bytes", bytes.size());
    std::memcpy(&id, bytes.data(), sizeof(id));
    joining([&] {
      MACA_CUDA_CHECK(cudaSetDevice(device_.index));
      MACA_NCCL_CHECK(ncclCommInitRank(&comm_, size(), id, rank()));
    });
  }

  ~NcclComm() override {
    if (comm_ == nullptr) return;
    // After a failure (or while an exception unwinds) the peers may never
    // finish a pending collective: abort instead of waiting for them.
    if (failed_ || std::uncaught_exceptions() > 0)
      ncclCommAbort(comm_);
    else
      ncclCommDestroy(comm_);
  }

  std::string name() const override { return "nccl"; }

  void allreduce_sum(backend::Context& ctx, int64_t* data, size_t n) override {
    const double s = sum_in_chunks(ctx, data, n, [&](int64_t* p, size_t count, cudaStream_t st) {
      return ncclAllReduce(p, p, count, ncclInt64, ncclSum, comm_, st);
    });
    if (n) host_.add_stats({.allreduce_bytes = static_cast<int64_t>(n * sizeof(int64_t)), .allreduce_s = s});
  }

  void reduce_sum(backend::Context& ctx, int64_t* data, size_t n, int root) override {
    const double s = sum_in_chunks(ctx, data, n, [&](int64_t* p, size_t count, cudaStream_t st) {
      return ncclReduce(p, p, count, ncclInt64, ncclSum, root, comm_, st);  // in place on root; the others only send
    });
    if (n) host_.add_stats({.reduce_bytes = static_cast<int64_t>(n * sizeof(int64_t)), .reduce_s = s});
  }

  void allgather(backend::Context& ctx, const void* mine, size_t bytes_per_rank, void* out) override {
    if (bytes_per_rank == 0) return;
    guarded([&] {
      const cudaStream_t s = stream(ctx);
      const auto* src = static_cast<const uint8_t*>(mine);
      auto* dst = static_cast<uint8_t*>(out);
      wait(s);
      Timer t;
      if (bytes_per_rank <= chunk_bytes_) {
        MACA_NCCL_CHECK(ncclAllGather(src, dst, bytes_per_rank, ncclUint8, comm_, s));
      } else {
        // An all-gather of a chunk would pack the ranks' pieces next to each
        // other; one broadcast per rank, grouped, puts each piece at its
        // place in the rank-major output instead.
        for (size_t at = 0; at < bytes_per_rank; at += chunk_bytes_) {
          const size_t count = std::min(chunk_bytes_, bytes_per_rank - at);
          MACA_NCCL_CHECK(ncclGroupStart());
          for (int r = 0; r < size(); ++r)
            MACA_NCCL_CHECK(ncclBroadcast(src + at, dst + static_cast<size_t>(r) * bytes_per_rank + at, count,
                                          ncclUint8, r, comm_, s));
          MACA_NCCL_CHECK(ncclGroupEnd());
        }
      }
      wait(s);
      host_.add_stats({.allgather_bytes = static_cast<int64_t>(static_cast<size_t>(size() - 1) * bytes_per_rank),
                       .allgather_s = t.seconds()});
    });
  }

 private:
  // One NCCL sum per chunk of at most chunk_bytes_ over the n words at `data`
  // (call(pointer, count, stream) issues it), between two waits on ctx's
  // stream; returns the seconds the collective took (0 for n = 0).
  template <class Call>
  double sum_in_chunks(backend::Context& ctx, int64_t* data, size_t n, Call call) {
    if (n == 0) return 0;
    double seconds = 0;
    guarded([&] {
      const cudaStream_t s = stream(ctx);
      wait(s);
      Timer t;
      const size_t per_call = chunk_bytes_ / sizeof(int64_t);
      for (size_t i = 0; i < n; i += per_call) MACA_NCCL_CHECK(call(data + i, std::min(per_call, n - i), s));
      wait(s);
      seconds = t.seconds();
    });
    return seconds;
  }

  // Runs a step of joining the communicator; a failure ends every rank.
  template <class F>
  void joining(F&& step) {
    try {
      step();
    } catch (const std::exception& e) {
      failed_ = true;
      if (size() == 1) throw;  // no other rank can be left waiting
      spdlog::error("rank {}: setting up NCCL on {} failed: {}; ending the job", rank(), device_.str(), e.what());
      host_.abort(1);
    }
  }

  // Runs a collective; after a failure the communicator is only aborted.
  template <class F>
  void guarded(F&& body) {
    MACA_CHECK(!failed_, "rank {}: the NCCL communicator failed earlier; no further collectives", rank());
    try {
      body();
    } catch (...) {
      failed_ = true;
      throw;
    }
  }

  cudaStream_t stream(backend::Context& ctx) const {
    MACA_ASSERT(ctx.device() == device_, "NCCL communicator of {} used with a {} context", device_.str(),
                ctx.device().str());
    MACA_CUDA_CHECK(cudaSetDevice(device_.index));  // the calling thread may have another current device
    return static_cast<cudaStream_t>(ctx.stream());
  }

  // Waits until `s` is idle, like cudaStreamSynchronize, but also watches the
  // communicator: NCCL reports a failed peer or network asynchronously, and a
  // plain synchronize would wait for the collective forever.
  void wait(cudaStream_t s) {
    for (;;) {
      const cudaError_t e = cudaStreamQuery(s);
      if (e == cudaSuccess) return;
      if (e != cudaErrorNotReady)
        kernels::cuda::throw_library_error("CUDA", static_cast<int>(e), cudaGetErrorString(e),
                                           "cudaStreamQuery(stream)", __FILE__, __LINE__);
      ncclResult_t async = ncclSuccess;
      MACA_NCCL_CHECK(ncclCommGetAsyncError(comm_, &async));
      if (async != ncclSuccess && async != ncclInProgress)
        MACA_THROW(Error,
                   "NCCL error {} ({}) in a collective on rank {} ({}): {}; a peer may have failed or be "
                   "unreachable (NCCL_DEBUG=INFO shows more)",
                   static_cast<int>(async), ncclGetErrorString(async), rank(), device_.str(), ncclGetLastError(comm_));
      std::this_thread::yield();
    }
  }

  Device device_;
  size_t chunk_bytes_;
  ncclComm_t comm_ = nullptr;
  bool failed_ = false;
};

}  // namespace

bool built_with_nccl() { return true; }

std::unique_ptr<DeviceComm> make_nccl_comm(Comm& host, backend::Context& ctx, size_t chunk_bytes) {
  return std::make_unique<NcclComm>(host, ctx, chunk_bytes);
}

}  // namespace maca::parallel
