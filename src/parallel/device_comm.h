// Collectives on buffers that live on a backend::Context's device (design.md,
// "Distribution"): the exact integer all-reduce of the Hessian statistics and
// the all-gather of a layer's rounded row slices, without a trip through host
// memory when the GPUs can talk to each other (NCCL).
//
// A DeviceComm works next to the job's host Comm (parallel/comm.h): the same
// ranks and rank numbers, and the same rule that every rank makes the same
// calls in the same order with the same sizes. Its traffic is counted in the
// host Comm's stats() (bytes and seconds), so a report has one set of
// counters. Implementations:
//  - NCCL (parallel/nccl/nccl_comm.cpp, built only with NCCL): one rank per
//    GPU. Rank 0 creates the ncclUniqueId, the host Comm broadcasts it, and
//    every rank joins the communicator on its context's device. A failure
//    while joining ends the whole job (host Comm abort), never a hang.
//  - staged: the host Comm's collectives. On the CPU the buffers are host
//    memory, so the calls go straight to the host Comm (no staging copy). On
//    a device the data is copied to the host (Context::to_host), goes through
//    the host Comm and comes back (Context::to_device into a fresh buffer,
//    then Context::copy into place); with one rank nothing moves except an
//    all-gather's own slice, from `mine` to `out`.
//
// Every call is blocking for the host, like the host Comm's: it waits for the
// work already queued on the context's stream, runs the collective on that
// stream and waits for it (NCCL: a stream synchronize before and after the
// calls; staged: the copies synchronize). For NCCL the wait before keeps
// queued compute out of the time counters, which then measure the collective
// alone; the wait after means the result is in place when the call returns.
//
// Lifetime: the host Comm and the context outlive the DeviceComm made from
// them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/tensor.h"
#include "parallel/comm.h"

namespace maca::backend {
class Context;
}

namespace maca::parallel {

class DeviceComm {
 public:
  virtual ~DeviceComm() = default;
  DeviceComm(const DeviceComm&) = delete;
  DeviceComm& operator=(const DeviceComm&) = delete;

  int rank() const { return host_.rank(); }
  int size() const { return host_.size(); }
  // "nccl", or "staged:" and the host Comm's name ("staged:mpi").
  virtual std::string name() const = 0;

  // Element-wise sum over ranks of the `n` words at `data`, in place. `data`
  // lives on ctx's device (host memory for a CPU context). Integers only, so
  // the sum is exact and independent of the reduction order (the statistics
  // travel as fixed-point words, fixed_point.h). `n` is the same on
  // every rank; n = 0 is a no-op.
  virtual void allreduce_sum(backend::Context& ctx, int64_t* data, size_t n) = 0;
  // The same sum into rank `root`'s `data` only (Comm::reduce_sum); the other
  // ranks' data is left as it was.
  virtual void reduce_sum(backend::Context& ctx, int64_t* data, size_t n, int root) = 0;

  // Every rank's `bytes_per_rank` bytes at `mine`, in rank order at `out`:
  // rank r's bytes land at out + r * bytes_per_rank (size() * bytes_per_rank
  // bytes in all). Both live on ctx's device. Contributions are equal-sized:
  // a caller with uneven slices (split_rows) pads each one to the largest and
  // knows every slice's true size itself. `mine` may be
  // out + rank() * bytes_per_rank (in place); otherwise the two do not
  // overlap. bytes_per_rank = 0 is a no-op.
  virtual void allgather(backend::Context& ctx, const void* mine, size_t bytes_per_rank, void* out) = 0;

 protected:
  explicit DeviceComm(Comm& host) : host_(host) {}
  Comm& host_;  // rank numbers, id broadcast, abort, and the stats counters
};

// The collectives for buffers on ctx's device: NCCL when ctx is a CUDA
// context, maca was built with NCCL and the job has more than one rank; the
// staged host path otherwise. Collective over `host` (the NCCL communicator
// is created on every rank at once).
std::unique_ptr<DeviceComm> make_device_comm(Comm& host, backend::Context& ctx);

// The staged implementation over `host` (see above), for any context.
std::unique_ptr<DeviceComm> make_staged_comm(Comm& host);

// NCCL chunk: no single NCCL call moves more than this many bytes per rank.
inline constexpr size_t kNcclChunkBytes = size_t{1} << 30;

// The NCCL implementation on ctx's device (a CUDA context), for any rank count
// (a one-rank communicator is valid: tests). `chunk_bytes` bounds the bytes
// per rank of one NCCL call (tests make it small to cover the chunked paths).
// Collective over `host`. Throws maca::Error when maca was built without NCCL
// or ctx is not a CUDA context; a failure while creating the communicator
// logs and ends the whole job through host.abort() when there are several
// ranks (another rank may be waiting in ncclCommInitRank) and throws
// maca::Error when there is one.
std::unique_ptr<DeviceComm> make_nccl_comm(Comm& host, backend::Context& ctx, size_t chunk_bytes = kNcclChunkBytes);

// True when this binary was built with NCCL.
bool built_with_nccl();

// The device this rank computes on for a job device `d`: with several ranks
// on a node and a CUDA device, one GPU per rank (local_gpu over the visible
// GPUs; an explicit cuda:N is then overridden, since ranks must not share a
// GPU); otherwise `d` itself.
Device rank_device(const Device& d, const Comm& comm);

}  // namespace maca::parallel
