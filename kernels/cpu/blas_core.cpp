#include "kernels/cpu/blas_core.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "kernels/cpu/blas.h"

namespace maca::kernels::cpu {

std::string openblas_core_override() {
  if (!openblas_get_corename || std::getenv("OPENBLAS_CORETYPE")) return "";
  const std::string core = openblas_get_corename();
  if (core != "Prescott" && core != "Core2" && core != "Nehalem" && core != "Penryn" && core != "Dunnington") return "";
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

void reexec_with_fitting_cpu_runtime(char** argv) {
  const std::string core = openblas_core_override();
  const bool set_core = !core.empty() && ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1) == 0;
  const bool set_wait = !std::getenv("OMP_WAIT_POLICY") && ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0;
  const bool set_timeout = openblas_get_corename && !std::getenv("OPENBLAS_THREAD_TIMEOUT") &&
                           ::setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) == 0;
  if (!set_core && !set_wait && !set_timeout) return;
  ::execv("/proc/self/exe", argv);
  // exec failed: carry on with the settings already loaded
  if (set_core) ::unsetenv("OPENBLAS_CORETYPE");
  if (set_wait) ::unsetenv("OMP_WAIT_POLICY");
  if (set_timeout) ::unsetenv("OPENBLAS_THREAD_TIMEOUT");
}

}  // namespace maca::kernels::cpu
