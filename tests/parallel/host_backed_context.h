// A context that claims a CUDA device but keeps its "device" memory on the
// host: the staged DeviceComm path (to_host, the host Comm, to_device and
// Context::copy back into place) runs on a machine without a GPU, and the
// tests can count the copies it makes. It has no ops.
#pragma once

#include <cstring>
#include <memory>

#include "backend/context.h"
#include "backend/op_table.h"
#include "core/error.h"

namespace test_support {

class HostBackedContext final : public maca::backend::Context {
 public:
  HostBackedContext() : Context(maca::Device::cuda(0)) {}

  const maca::backend::OpTable& ops() const override {
    static const maca::backend::OpTable none{.backend = "host-backed"};
    return none;
  }
  maca::Tensor empty(maca::Shape shape, maca::DType dtype) override {
    maca::Tensor h = maca::Tensor::empty(std::move(shape), dtype);
    return as_device(h);
  }
  maca::Tensor to_device(const maca::Tensor& host) override {
    MACA_ASSERT(host.device().is_cpu(), "to_device of {}", host.str());
    ++uploads;
    maca::Tensor d = empty(host.shape(), host.dtype());
    if (host.nbytes()) std::memcpy(d.raw(), host.raw(), host.nbytes());
    return d;
  }
  maca::Tensor to_host(const maca::Tensor& t) override {
    if (t.device().is_cpu()) return t;
    ++downloads;
    maca::Tensor h = maca::Tensor::empty(t.shape(), t.dtype());
    if (t.nbytes()) std::memcpy(h.raw(), t.raw(), t.nbytes());
    return h;
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    ++copies;
    if (bytes) std::memmove(dst, src, bytes);
  }
  void zero(void* p, size_t bytes) override {
    if (bytes) std::memset(p, 0, bytes);
  }

  int uploads = 0, downloads = 0, copies = 0;

 private:
  static maca::Tensor as_device(maca::Tensor& h) {
    // The storage travels with the view (a shared_ptr to the host tensor).
    auto keep = std::make_shared<maca::Tensor>(h);
    return maca::Tensor::on_device(keep, keep->raw(), keep->shape(), keep->dtype(), maca::Device::cuda(0));
  }
};

}  // namespace test_support
