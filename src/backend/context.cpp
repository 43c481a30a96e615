#include "backend/context.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"

#ifdef MACA_HAVE_CUDA
#include "kernels/cuda/cuda_context.h"
#endif

namespace maca::backend {
namespace {

class CpuContext final : public Context {
 public:
  CpuContext() : Context(Device::cpu()) {}
  Tensor empty(Shape shape, DType dtype) override { return Tensor::empty(std::move(shape), dtype); }
  Tensor to_device(const Tensor& host) override { return host; }
  Tensor to_host(const Tensor& t) override { return t; }
};

}  // namespace

bool built_with_cuda() {
#ifdef MACA_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef MACA_HAVE_CUDA
  return kernels::cuda::device_count();
#else
  return 0;
#endif
}

std::unique_ptr<Context> Context::create(Device device, int threads) {
  if (device.is_cpu()) {
    kernels::cpu::set_threads(threads);
    return std::make_unique<CpuContext>();
  }
#ifdef MACA_HAVE_CUDA
  return kernels::cuda::create_context(device);
#else
  MACA_THROW(Error, "device {} requested, but this maca was built without the CUDA backend; rebuild with "
                    "-DMACA_WITH_CUDA=ON or use --device cpu", device.str());
#endif
}

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::cpu();
  if (s == "auto") return cuda_device_count() > 0 ? Device::cuda(0) : Device::cpu();
  if (s == "cuda") return Device::cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    char* end = nullptr;
    const long i = std::strtol(s.c_str() + 5, &end, 10);
    if (end && *end == '\0' && end != s.c_str() + 5 && i >= 0) return Device::cuda(static_cast<int>(i));
  }
  MACA_THROW(Error, "unknown device '{}': use cpu, cuda, cuda:N or auto", s);
}

Device job_device(const std::string& s) { return s == "auto" ? Device::cpu() : parse_device(s); }

}  // namespace maca::backend
