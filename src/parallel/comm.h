// Collectives between the ranks of one job (design.md, "Distribution").
//
// The pipeline talks to the other ranks only through this interface: sums of
// Hessian statistics (an exact integer all-reduce, or a reduce to the rank
// that owns a layer), the rounded row slices of a layer
// (all-gather), small decisions made on rank 0 (broadcast) and a stop flag
// (all-reduce max). Implementations: a serial one (one process, every call is
// a copy or a no-op) and MPI (host buffers). Collectives on buffers that live
// on a device (NCCL between GPUs) are parallel/device_comm.h, made from and
// counted in the job's Comm.
//
// Every rank must make the same calls in the same order; a rank that fails
// calls abort(), which ends every rank of the job (never a hang).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace maca::parallel {

// What went over the wire, for the report and the scaling figures.
struct CommStats {
  int64_t allreduce_bytes = 0;
  double allreduce_s = 0;
  int64_t reduce_bytes = 0;  // bytes this rank sent or received in reduce_sum
  double reduce_s = 0;
  int64_t allgather_bytes = 0;  // bytes this rank received
  double allgather_s = 0;

  CommStats& operator+=(const CommStats& o) {
    allreduce_bytes += o.allreduce_bytes;
    allreduce_s += o.allreduce_s;
    reduce_bytes += o.reduce_bytes;
    reduce_s += o.reduce_s;
    allgather_bytes += o.allgather_bytes;
    allgather_s += o.allgather_s;
    return *this;
  }
};

// Memory shared by the ranks of one node (an MPI shared-memory window): one
// copy of what every rank of the node reads, written by the node's first
// rank (local rank 0).
class NodeShared {
 public:
  virtual ~NodeShared() = default;
  void* data() const { return data_; }
  size_t size() const { return size_; }
  // Collective over the node's ranks: makes what local rank 0 wrote to this
  // memory before the call visible to the others after it, and hands them
  // its `note` (small bytes that go with it).
  virtual void publish(std::vector<uint8_t>& note) = 0;

 protected:
  void* data_ = nullptr;
  size_t size_ = 0;
};

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;  // "serial", "mpi"
  // Rank and rank count among the ranks of this node (shared memory), to pick
  // a GPU or split the CPU cores.
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;

  // Element-wise sum over ranks, in place. Integers only: an integer sum is
  // exact, so the result does not depend on the reduction order MPI/NCCL pick
  // (a float sum would differ with the rank count). Statistics travel as
  // fixed-point words (kernels/shared/fixed_point.h).
  virtual void allreduce_sum(std::span<int64_t> data) = 0;
  // The same sum, into rank `root`'s `data` only (the other ranks' data is
  // left as it was): root gets the bits allreduce_sum would give it, at about
  // half the traffic, and no other rank needs room for the result.
  virtual void reduce_sum(std::span<int64_t> data, int root) = 0;
  virtual int64_t allreduce_max(int64_t value) = 0;
  // Every rank's bytes, indexed by rank.
  virtual std::vector<std::vector<uint8_t>> allgather(std::span<const uint8_t> mine) = 0;
  // Rank `root`'s bytes on every rank (`data` is resized on the others).
  virtual void broadcast(std::vector<uint8_t>& data, int root) = 0;
  virtual void barrier() = 0;
  // Collective over the ranks of this node: local rank 0 allocates `bytes`
  // (uninitialized) that every rank of the node maps. nullptr on every rank
  // of the node when the node's shared-memory directory (/dev/shm) has not
  // that much room (local rank 0 warns; callers fall back to private
  // memory). Freeing is collective too: every rank of the node drops its
  // last handle at the same point of the call order.
  virtual std::shared_ptr<NodeShared> node_shared(size_t bytes) = 0;
  // Ends every rank of the job with `code` (MPI_Abort); does not return.
  [[noreturn]] virtual void abort(int code) = 0;

  const CommStats& stats() const { return stats_; }
  // Counts traffic of this job's collectives that went another way (a
  // DeviceComm's, on device buffers), so stats() holds all of it.
  void add_stats(const CommStats& more) { stats_ += more; }

 protected:
  CommStats stats_;
};

// `text` as rank `root` has it, on every rank (e.g. a run directory whose
// default name carries a start time that ranks may see differently).
inline std::string broadcast_string(Comm& comm, const std::string& text, int root = 0) {
  std::vector<uint8_t> bytes(text.begin(), text.end());
  comm.broadcast(bytes, root);
  return std::string(bytes.begin(), bytes.end());
}

// The process-wide communicator: MPI when this process was started by an MPI
// launcher (mpirun, srun with PMI/PMIx) and maca was built with MPI, serial
// otherwise. init_world() must run first (cli does it); finalize_world() at a
// normal exit.
void init_world(int* argc, char*** argv);
Comm& world();
void finalize_world();

// True when the environment says an MPI launcher started this process.
bool launched_by_mpi();

}  // namespace maca::parallel
