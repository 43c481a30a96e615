// Hessian accumulation rate: hessian::Accumulator::add on random rows of a
// given width, in units (calibration sequences) of a given length, F64 or
// F32, with the OpenMP threads of the process. Prints the command, the
// machine, the GFLOP/s of the useful syrk work (n²·rows) and the time.
//
//   build/bench/bench_hessian [n=1536] [unit_rows=512] [units=8] [f64|f32] [threads=0]
#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>

#include "backend/context.h"
#include "core/host_info.h"
#include "hessian/accumulator.h"
#include "kernels/cpu/blas_core.h"

int main(int argc, char** argv) {
  maca::kernels::cpu::reexec_with_fitting_cpu_runtime(argv);
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : 1536, unit = argc > 2 ? std::atoll(argv[2]) : 512,
                units = argc > 3 ? std::atoll(argv[3]) : 8;
  const bool f32 = argc > 4 && std::string(argv[4]) == "f32";
  const int threads = argc > 5 ? std::atoi(argv[5]) : 0;
  const auto ctx = maca::backend::Context::create(maca::Device::cpu(), threads);
  const std::string cpu = maca::cpu_model_name();
  fmt::print("bench_hessian n={} unit_rows={} units={} {} threads={} | {}, {} OpenMP threads\n", n, unit, units,
             f32 ? "f32" : "f64", threads, cpu, omp_get_max_threads());
  maca::Tensor x = maca::Tensor::empty({unit * units, n});
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 1.0f);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = d(rng);
  const std::vector<int64_t> unit_rows(static_cast<size_t>(units), unit);
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    maca::hessian::Accumulator acc(*ctx, n, f32 ? maca::hessian::Precision::F32 : maca::hessian::Precision::F64, false);
    const auto t0 = std::chrono::steady_clock::now();
    acc.add(x, unit_rows, {});
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const double flops = static_cast<double>(n) * n * unit * units;  // syrk: n²·rows multiply-adds... counted once
  fmt::print("best of 3: {:.3f} s, {:.1f} GFLOP/s (n²·rows, the syrk's useful multiply-adds ×1)\n", best,
             flops / best / 1e9);
  return 0;
}
