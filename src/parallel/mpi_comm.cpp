#include "parallel/mpi_comm.h"

#include "core/error.h"

#ifdef MACA_HAVE_MPI
#include <mpi.h>

#include <algorithm>

#include "core/timer.h"

namespace maca::parallel {
namespace {

constexpr int64_t kChunkBytes = 64LL << 20;

class MpiComm final : public Comm {
 public:
  MpiComm() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &local_rank_);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
  }
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
      bcast_bytes(buf.data(), sizes[static_cast<size_t>(r)], r);
      if (r != rank_) stats_.allgather_bytes += sizes[static_cast<size_t>(r)];
    }
    stats_.allgather_s += t.seconds();
    return all;
  }

  void broadcast(std::vector<uint8_t>& data, int root) override {
    auto n = static_cast<int64_t>(data.size());
    MPI_Bcast(&n, 1, MPI_INT64_T, root, MPI_COMM_WORLD);
    data.resize(static_cast<size_t>(n));
    bcast_bytes(data.data(), n, root);
  }

  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  // call(pointer, count) once per chunk of at most kChunkBytes of `data`
  // (MPI counts are ints); returns the seconds it took.
  template <class T, class Call>
  static double in_chunks(std::span<T> data, Call call) {
    Timer t;
    constexpr auto per_chunk = static_cast<size_t>(kChunkBytes / static_cast<int64_t>(sizeof(T)));
    for (size_t i = 0; i < data.size(); i += per_chunk)
      call(data.data() + i, static_cast<int>(std::min(per_chunk, data.size() - i)));
    return t.seconds();
  }

  void bcast_bytes(uint8_t* data, int64_t n, int root) {
    in_chunks(std::span<uint8_t>(data, static_cast<size_t>(n)),
              [&](uint8_t* p, int count) { MPI_Bcast(p, count, MPI_BYTE, root, MPI_COMM_WORLD); });
  }

  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
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
