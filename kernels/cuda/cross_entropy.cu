// cross_entropy: one block per row, its threads striding over the vocabulary
// (consecutive threads, consecutive logits). Pass 1: the row's max (a block
// reduction; a max is exact in any order). Pass 2: each thread sums its
// exp(logit − max), each an fp32 expf, in double; a fixed-tree block
// reduction gives the row's sum (the same bits every run). Thread 0 writes
// nll = max + log(sum) − logit[target] (shared::cross_entropy_nll). The
// targets are checked on the host first; the nll come back to the host span,
// so this op synchronizes the stream.
#include <climits>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/device_array.h"
#include "kernels/cuda/id_checks.h"
#include "kernels/cuda/kernel_util.cuh"
#include "kernels/shared/elementwise_math.h"

namespace maca::kernels::cuda {
namespace {

__global__ void cross_entropy_kernel(const float* logits, const int32_t* targets, int64_t vocab, double* nll) {
  const int64_t r = blockIdx.x;
  const float* row = logits + r * vocab;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) mx = fmaxf(mx, row[j]);
  mx = block_reduce(mx, MaxOp{}, -INFINITY);
  double sum = 0.0;
  for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) sum += static_cast<double>(expf(row[j] - mx));
  sum = block_reduce(sum, SumOp{}, 0.0);
  if (threadIdx.x == 0) nll[r] = shared::cross_entropy_nll(mx, sum, row[targets[r]]);
}

}  // namespace

void cross_entropy(backend::Context& ctx, const Tensor& logits, std::span<const int32_t> targets,
                   std::span<double> nll) {
  CudaContext& cc = cuda_context(ctx);
  MACA_CUDA_REQUIRE(logits.dtype() == DType::F32 && logits.ndim() == 2, "cross_entropy: logits must be f32 [rows, V]");
  const int64_t rows = logits.dim(0), vocab = logits.dim(1);
  MACA_CUDA_REQUIRE(static_cast<int64_t>(targets.size()) == rows && static_cast<int64_t>(nll.size()) == rows,
                    "cross_entropy: targets and nll must have one entry per row");
  MACA_CUDA_REQUIRE(rows <= INT_MAX, "cross_entropy: more rows than a grid holds");
  check_ids_in_vocab(targets, vocab, "target id", "row");
  if (rows == 0) return;
  const DeviceArray<int32_t> d_targets(cc, targets);
  const DeviceArray<double> d_nll(cc, static_cast<size_t>(rows));
  const int threads = vocab >= 4096 ? 512 : 128;
  cross_entropy_kernel<<<static_cast<unsigned>(rows), threads, 0, cc.cuda_stream()>>>(
      static_cast<const float*>(logits.raw()), d_targets.get(), vocab, d_nll.get());
  MACA_CUDA_CHECK_LAUNCH();
  MACA_CUDA_CHECK(cudaMemcpyAsync(nll.data(), d_nll.get(), nll.size_bytes(), cudaMemcpyDeviceToHost, cc.cuda_stream()));
  MACA_CUDA_CHECK(cudaStreamSynchronize(cc.cuda_stream()));
}

}  // namespace maca::kernels::cuda
