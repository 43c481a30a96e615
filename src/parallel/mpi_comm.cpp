#include "parallel/mpi_comm.h"

#include "core/error.h"

#ifdef MACA_HAVE_MPI
#include <mpi.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <span>

#include "core/log.h"
#include "core/timer.h"

namespace maca::parallel {
namespace {

constexpr int64_t kChunkBytes = 64LL << 20;

// call(pointer, count) once per chunk of at most kChunkBytes of `data`
// (MPI counts are ints); returns the seconds it took.
template <class T, class Call>
double in_chunks(std::span<T> data, Call call) {
  Timer t;
  constexpr auto per_chunk = static_cast<size_t>(kChunkBytes / static_cast<int64_t>(sizeof(T)));
  for (size_t i = 0; i < data.size(); i += per_chunk)
    call(data.data() + i, static_cast<int>(std::min(per_chunk, data.size() - i)));
  return t.seconds();
}

// Rank `root`'s n bytes at `data` on every rank of `comm`.
void bcast_bytes(uint8_t* data, int64_t n, int root, MPI_Comm comm) {
  in_chunks(std::span<uint8_t>(data, static_cast<size_t>(n)),
            [&](uint8_t* p, int count) { MPI_Bcast(p, count, MPI_BYTE, root, comm); });
}

// Where Open MPI puts the files behind shared-memory windows (its
// osc_sm_backing_directory, /dev/shm on Linux by default), and the bytes
// free there; -1 when that directory cannot be examined (another MPI: no check).
std::pair<std::string, int64_t> window_room() {
  const char* env = std::getenv("OMPI_MCA_osc_sm_backing_directory");
  const std::string dir = env && *env ? env : "/dev/shm";
  struct statvfs st {};
  if (!std::filesystem::is_directory(dir) || ::statvfs(dir.c_str(), &st) != 0) return {dir, -1};
  return {dir, static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize)};
}

// A window allocated by local rank 0 on the node communicator, in a passive
// epoch (lock_all) for its whole life, as the MPI memory model asks of
// load/store access to shared windows.
class Window final : public NodeShared {
 public:
  Window(MPI_Comm node, size_t bytes) : node_(node) {
    int local_rank = 0;
    MPI_Comm_rank(node_, &local_rank);
    void* mine = nullptr;
    MPI_Win_allocate_shared(static_cast<MPI_Aint>(local_rank == 0 ? bytes : 0), 1, MPI_INFO_NULL, node_, &mine,
                            &win_);
    MPI_Aint size = 0;
    int unit = 0;
    MPI_Win_shared_query(win_, 0, &size, &unit, &data_);
    size_ = static_cast<size_t>(size);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, win_);
  }
  ~Window() override {
    MPI_Win_unlock_all(win_);
    MPI_Win_free(&win_);
  }
  void publish(std::vector<uint8_t>& note) override {
    MPI_Win_sync(win_);  // local rank 0's stores, before the broadcast
    auto n = static_cast<int64_t>(note.size());
    MPI_Bcast(&n, 1, MPI_INT64_T, 0, node_);
    note.resize(static_cast<size_t>(n));
    bcast_bytes(note.data(), n, 0, node_);
    MPI_Win_sync(win_);  // and the others' loads after it
  }

 private:
  MPI_Comm node_;
  MPI_Win win_ = MPI_WIN_NULL;
};

class MpiComm final : public Comm {
 public:
  MpiComm() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node_);
    MPI_Comm_rank(node_, &local_rank_);
    MPI_Comm_size(node_, &local_size_);
  }
  // The node communicator stays until MPI_Finalize (freeing it here could
  // come after finalize_world()).
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }

  void allreduce_sum(std::span<int64_t> data) override {
    stats_.allreduce_s += in_chunks(data, [](int64_t* p, int n) {
      MPI_Allreduce(MPI_IN_PLACE, p, n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    });
    stats_.allreduce_bytes += static_cast<int64_t>(data.size_bytes());
  }

  void reduce_sum(std::span<int64_t> data, int root) override {
    stats_.reduce_s += in_chunks(data, [&](int64_t* p, int n) {
      MPI_Reduce(rank_ == root ? MPI_IN_PLACE : p, rank_ == root ? p : nullptr, n, MPI_INT64_T, MPI_SUM, root,
                 MPI_COMM_WORLD);
    });
    stats_.reduce_bytes += static_cast<int64_t>(data.size_bytes());
  }

  int64_t allreduce_max(int64_t value) override {
    int64_t out = 0;
    MPI_Allreduce(&value, &out, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
    return out;
  }

  std::vector<std::vector<uint8_t>> allgather(std::span<const uint8_t> mine) override {
    Timer t;
    const auto n = static_cast<int64_t>(mine.size());
    std::vector<int64_t> sizes(static_cast<size_t>(size_));
    MPI_Allgather(&n, 1, MPI_INT64_T, sizes.data(), 1, MPI_INT64_T, MPI_COMM_WORLD);
    std::vector<std::vector<uint8_t>> all(static_cast<size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      auto& buf = all[static_cast<size_t>(r)];
      if (r == rank_)
        buf.assign(mine.begin(), mine.end());
      else
        buf.resize(static_cast<size_t>(sizes[static_cast<size_t>(r)]));
      bcast_bytes(buf.data(), sizes[static_cast<size_t>(r)], r, MPI_COMM_WORLD);
      if (r != rank_) stats_.allgather_bytes += sizes[static_cast<size_t>(r)];
    }
    stats_.allgather_s += t.seconds();
    return all;
  }

  void broadcast(std::vector<uint8_t>& data, int root) override {
    auto n = static_cast<int64_t>(data.size());
    MPI_Bcast(&n, 1, MPI_INT64_T, root, MPI_COMM_WORLD);
    data.resize(static_cast<size_t>(n));
    bcast_bytes(data.data(), n, root, MPI_COMM_WORLD);
  }

  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }

  std::shared_ptr<NodeShared> node_shared(size_t bytes) override {
    int64_t fits = 1;
    if (local_rank_ == 0) {
      const auto [dir, room] = window_room();
      fits = room < 0 || static_cast<uint64_t>(room) >= bytes;
      if (!fits)
        spdlog::warn("{}: {:.2f} GiB free, a node-shared copy needs {:.2f} GiB; every rank of this node keeps its "
                     "own copy instead (raise the size of {}, or set run.node_share=false to silence this)",
                     dir, static_cast<double>(room) / double(1LL << 30), static_cast<double>(bytes) / double(1LL << 30),
                     dir);
    }
    MPI_Bcast(&fits, 1, MPI_INT64_T, 0, node_);
    if (!fits) return nullptr;
    return std::make_shared<Window>(node_, bytes);
  }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  MPI_Comm node_ = MPI_COMM_NULL;  // the ranks of this node
};

}  // namespace

std::unique_ptr<Comm> make_mpi_comm() { return std::make_unique<MpiComm>(); }

}  // namespace maca::parallel

#else

namespace maca::parallel {

std::unique_ptr<Comm> make_mpi_comm() {
  MACA_THROW(Error, "this maca was built without MPI (MACA_WITH_MPI=OFF); rebuild with -DMACA_WITH_MPI=ON to run "
                    "under mpirun/srun");
}

}  // namespace maca::parallel

#endif
