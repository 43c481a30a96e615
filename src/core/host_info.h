// What machine a result came from: the CPU model as /proc/cpuinfo names it.
// Reports carry it because results are bitwise reproducible per build and CPU
// (the BLAS kernels differ between CPU families), so a number without its CPU
// cannot be checked.
#pragma once

#include <string>

namespace maca {

// The first "model name" of /proc/cpuinfo ("AMD EPYC 7763 64-Core Processor"),
// or "unknown" where there is none.
std::string cpu_model_name();

}  // namespace maca
