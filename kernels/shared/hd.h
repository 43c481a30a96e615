// MACA_HD marks a function of a header shared by kernels/cpu (the C++
// compiler) and kernels/cuda (nvcc) as callable on both the host and the
// device; outside nvcc it expands to nothing.
#pragma once

#ifdef __CUDACC__
#define MACA_HD __host__ __device__
#else
#define MACA_HD
#endif
