#include "cli/app.h"
#include "kernels/cpu/blas_core.h"

int main(int argc, char** argv) {
  maca::kernels::cpu::reexec_with_fitting_cpu_runtime(argv);
  return maca::cli::run(argc, argv);
}
