// Launch helpers of the elementwise and row-wise CUDA kernels: the grid of a
// 1-D grid-stride loop, one thread per row, and block reductions with a fixed
// tree (no atomics), so a row's sum is the same bits on every run for a given
// block size.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/cuda_check.h"

namespace maca::kernels::cuda {

inline constexpr int kElementwiseThreads = 256;

// Blocks of kElementwiseThreads for a grid-stride loop over n > 0 elements:
// one element per thread up to 2^16 blocks (far more than an H100/H200 keeps
// resident), a grid-stride loop beyond.
inline unsigned elementwise_blocks(int64_t n) {
  const int64_t blocks = (n + kElementwiseThreads - 1) / kElementwiseThreads;
  return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
}

// First element and stride of the calling thread in a 1-D grid-stride loop.
__device__ inline int64_t grid_first() { return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t grid_stride() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

struct SumOp {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// op over every thread's v, returned to every thread of the block: shuffles
// within each warp, then the first warp over the warp partials, a fixed tree
// for a given blockDim. blockDim.x must be a multiple of 32 (at most 1024),
// and every thread of the block must call it (it synchronizes the block).
// `identity` is op's neutral element (0 for a sum, -inf for a max).
template <class T, class Op>
__device__ T block_reduce(T v, Op op, T identity) {
  __shared__ T partial[32];
  const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, offset));
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? partial[lane] : identity;
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, offset));
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  const T result = partial[0];
  __syncthreads();  // partial may be reused by the next call
  return result;
}

template <class RowFn>
__global__ void per_row_kernel(int64_t rows, RowFn fn) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < rows) fn(r);
}

// fn(r) for every row r < rows, one thread each, on `stream`: for the ops
// whose rows are independent and long (group_params, grid_round, the SNRQ
// decoders). Small blocks (64 threads): a layer has a few thousand rows, so
// spread them over the SMs. fn is a functor with a __device__ operator()(int64_t).
template <class RowFn>
void launch_per_row(cudaStream_t stream, int64_t rows, const RowFn& fn) {
  constexpr int kRowThreads = 64;
  if (rows <= 0) return;
  const int64_t blocks = (rows + kRowThreads - 1) / kRowThreads;
  MACA_CUDA_REQUIRE(blocks <= INT32_MAX, "too many rows for one launch");
  per_row_kernel<<<static_cast<unsigned>(blocks), kRowThreads, 0, stream>>>(rows, fn);
  MACA_CUDA_CHECK_LAUNCH();
}

}  // namespace maca::kernels::cuda
