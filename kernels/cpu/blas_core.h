// Runtime settings of the CPU libraries that are read only when they load.
//
// 1. OpenBLAS kernel selection.
// OpenBLAS picks its kernels from CPUID when the library loads. Builds that
// predate a CPU model (Debian 12 ships 0.3.21, which does not know e.g. Xeon
// family 6 model 207) fall back to the generic Prescott (SSE3) kernels, an
// order of magnitude slower on AVX-512 machines. OpenBLAS only reads its
// override, OPENBLAS_CORETYPE, at load time, so the fix is to set it and
// re-execute the program before any BLAS call.
// 2. libgomp's default wait policy spins idle OpenMP threads, which on a busy
// node steals the cores OpenBLAS's own threads need between parallel regions
// (measured here: 2.2x slower forward). maca sets OMP_WAIT_POLICY=PASSIVE
// unless the user chose a policy.
// 3. Idle OpenBLAS worker threads spin with sched_yield for 2^28 cycles
// before sleeping, which takes a core from the OpenMP kernels that run
// between BLAS calls (22% of a forward's samples here). maca sets
// OPENBLAS_THREAD_TIMEOUT=4 (the shortest spin) unless the user set it.
#pragma once

#include <string>

namespace maca::kernels::cpu {

// The OPENBLAS_CORETYPE this process should run with ("SkylakeX", "Haswell"),
// or "" when the loaded BLAS is not OpenBLAS, already chose a fitting kernel,
// or the user set OPENBLAS_CORETYPE.
std::string openblas_core_override();

// Re-executes /proc/self/exe with OPENBLAS_CORETYPE (when
// openblas_core_override() asks for it), OMP_WAIT_POLICY=PASSIVE and, with
// OpenBLAS, OPENBLAS_THREAD_TIMEOUT=4 (each when unset); returns, doing
// nothing, when none is needed or the re-exec fails. Call first thing in main().
void reexec_with_fitting_cpu_runtime(char** argv);

}  // namespace maca::kernels::cpu
