#include "cli/app.h"
#include "core/memory.h"
#include "kernels/cpu/blas_core.h"

int main(int argc, char** argv) {
  maca::kernels::cpu::reexec_with_fitting_cpu_runtime(argv);
  maca::use_mapped_large_allocations();
  return maca::cli::run(argc, argv);
}
