#include "backend/context.h"

#include <cstdlib>
#include <cstring>

#include "backend/op_table.h"
#include "core/error.h"
#include "core/log.h"
#include "kernels/cpu/cpu_ops.h"

#ifdef MACA_HAVE_CUDA
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#endif

namespace maca::backend {
namespace {

class CpuContext final : public Context {
 public:
  CpuContext() : Context(Device::cpu()) {}
  Tensor empty(Shape shape, DType dtype) override { return Tensor::empty(std::move(shape), dtype); }
  Tensor to_device(const Tensor& host) override { return host; }
  Tensor to_host(const Tensor& t) override { return t; }
  const OpTable& ops() const override { return kernels::cpu::op_table(); }
  void copy(void* dst, const void* src, size_t bytes) override { std::memmove(dst, src, bytes); }
  void zero(void* p, size_t bytes) override { std::memset(p, 0, bytes); }
};

}  // namespace

Tensor Context::clone(const Tensor& t) {
  MACA_ASSERT(t.device() == device(), "clone of a {} tensor on a {} context", t.str(), device().str());
  Tensor out = empty(t.shape(), t.dtype());
  copy(out.raw(), t.raw(), t.nbytes());
  return out;
}

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

const OpTable* backend_ops(DeviceKind kind) {
  if (kind == DeviceKind::Cpu) return &kernels::cpu::op_table();
#ifdef MACA_HAVE_CUDA
  return &kernels::cuda::op_table();
#else
  return nullptr;
#endif
}

namespace {
bool cuda_backend_complete() {
  const OpTable* t = backend_ops(DeviceKind::Cuda);
  if (!t) return false;
  for (const OpSupport& s : op_support(*t))
    if (!s.supported) return false;
  return true;
}
}  // namespace

// Every op has a CUDA kernel and every job can run on a GPU, but none of it
// has run on one yet (no GPU was lent to the sessions that wrote it). Until
// bench/gpu/check.sh passes on a GPU, "auto" stays on the CPU and a GPU runs
// only when asked for by name; the session that sees the check pass sets this.
constexpr bool kCudaPathChecked = false;

Device job_device(const std::string& s, const char* job) {
  if (s != "auto") return parse_device(s);
  if (cuda_device_count() == 0 || !cuda_backend_complete()) return Device::cpu();
  if (kCudaPathChecked) return Device::cuda(0);
  spdlog::warn("{}: a GPU is visible, but run.device=auto stays on the CPU: the CUDA path has not passed its GPU "
               "check (bench/gpu/check.sh) yet; --device cuda runs it", job);
  return Device::cpu();
}

}  // namespace maca::backend
