#include "parallel/device_comm.h"

#include <cstring>
#include <span>

#include "backend/context.h"
#include "core/error.h"
#include "core/tensor.h"
#include "parallel/partition.h"

namespace maca::parallel {
namespace {

class StagedComm final : public DeviceComm {
 public:
  explicit StagedComm(Comm& host) : DeviceComm(host) {}
  std::string name() const override { return "staged:" + host_.name(); }

  void allreduce_sum(backend::Context& ctx, int64_t* data, size_t n) override {
    staged_sum(ctx, data, n, true, [&](std::span<int64_t> words) { host_.allreduce_sum(words); });
  }

  void reduce_sum(backend::Context& ctx, int64_t* data, size_t n, int root) override {
    staged_sum(ctx, data, n, rank() == root, [&](std::span<int64_t> words) { host_.reduce_sum(words, root); });
  }

  void allgather(backend::Context& ctx, const void* mine, size_t bytes_per_rank, void* out) override {
    if (bytes_per_rank == 0) return;
    if (size() == 1) {  // one slice: no trip through the host
      ctx.copy(out, mine, bytes_per_rank);
      ctx.synchronize();
      return;
    }
    const bool on_host = ctx.device().is_cpu();
    Tensor h_mine;
    if (!on_host) h_mine = ctx.to_host(device_view(ctx, mine, bytes_per_rank));
    // The host Comm copies `mine` before anything is written to `out`, so the
    // in-place form is safe.
    const auto all = host_.allgather(
        std::span<const uint8_t>(static_cast<const uint8_t*>(on_host ? mine : h_mine.raw()), bytes_per_rank));
    MACA_ASSERT(all.size() == static_cast<size_t>(size()), "allgather: {} contributions for {} ranks", all.size(),
                size());
    Tensor h_out;
    if (!on_host) h_out = Tensor::empty({static_cast<int64_t>(all.size() * bytes_per_rank)}, DType::U8);
    auto* dst = static_cast<uint8_t*>(on_host ? out : h_out.raw());
    for (size_t r = 0; r < all.size(); ++r) {
      MACA_ASSERT(all[r].size() == bytes_per_rank,
                  "allgather: rank {} sent {} bytes, rank {} {}: contributions "
                  "must be equal-sized (pad them)",
                  r, all[r].size(), rank(), bytes_per_rank);
      std::memcpy(dst + r * bytes_per_rank, all[r].data(), bytes_per_rank);
    }
    if (!on_host) upload(ctx, h_out, out);
  }

 private:
  // A host Comm sum over the n words at `data` (host_sum counts its own
  // traffic): in place on the CPU; on a device through a host copy, whose
  // result goes back when `result_here`; nothing to do with one rank (the
  // sum over one rank is the data).
  template <class HostSum>
  void staged_sum(backend::Context& ctx, int64_t* data, size_t n, bool result_here, HostSum host_sum) {
    if (n == 0) return;
    if (ctx.device().is_cpu()) {
      host_sum(std::span<int64_t>(data, n));
      return;
    }
    if (size() == 1) return;
    Tensor h = ctx.to_host(device_view(ctx, data, n * sizeof(int64_t)));  // after the queued work
    host_sum(std::span<int64_t>(static_cast<int64_t*>(h.raw()), n));
    if (result_here) upload(ctx, h, data);
  }

  // `bytes` bytes of device memory at `p` as a tensor, for Context::to_host.
  static Tensor device_view(const backend::Context& ctx, const void* p, size_t bytes) {
    return Tensor::on_device(nullptr, const_cast<void*>(p), {static_cast<int64_t>(bytes)}, DType::U8, ctx.device());
  }

  // The host tensor `h` into device memory at `dst`. Context has no
  // host-to-device copy into an existing buffer: a fresh device copy, then a
  // device-to-device copy into place.
  static void upload(backend::Context& ctx, const Tensor& h, void* dst) {
    const Tensor d = ctx.to_device(h);
    ctx.copy(dst, d.raw(), h.nbytes());
    ctx.synchronize();
  }
};

}  // namespace

std::unique_ptr<DeviceComm> make_staged_comm(Comm& host) { return std::make_unique<StagedComm>(host); }

std::unique_ptr<DeviceComm> make_device_comm(Comm& host, backend::Context& ctx) {
  if (!ctx.device().is_cpu() && built_with_nccl() && host.size() > 1) return make_nccl_comm(host, ctx);
  return make_staged_comm(host);
}

#ifndef MACA_HAVE_NCCL
bool built_with_nccl() { return false; }

std::unique_ptr<DeviceComm> make_nccl_comm(Comm&, backend::Context&, size_t) {
  MACA_THROW(Error,
             "this maca was built without NCCL (MACA_WITH_NCCL=OFF, or CUDA/NCCL not found); rebuild with "
             "-DMACA_WITH_NCCL=ON for GPU collectives");
}
#endif

Device rank_device(const Device& d, const Comm& comm) {
  if (d.is_cpu() || comm.local_size() <= 1) return d;
  return Device::cuda(local_gpu(comm.local_rank(), comm.local_size(), backend::cuda_device_count()));
}

}  // namespace maca::parallel
