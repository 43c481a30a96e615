// gpu_gemm_rate: the dense GEMM rates cuBLAS reaches on this GPU, the
// reference bench/gpu/check.sh holds maca's forward against.
//
// usage: gpu_gemm_rate [M N K]...   (default: 8192 8192 8192, and the
//        LLaMA-3-8B MLP shape 4096 14336 4096)
// Prints one JSON object per shape: bf16 inputs with fp32 accumulation
// (cublasGemmEx, CUBLAS_COMPUTE_32F) and fp32 (cublasSgemm, no TF32), each the
// best of 10 timed runs after 3 warm-ups, in TFLOP/s.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "gpu_gemm_rate: %s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}
void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "gpu_gemm_rate: %s: %s\n", what, cublasGetStatusString(s));
    std::exit(1);
  }
}

template <class Run>
double best_tflops(int64_t m, int64_t n, int64_t k, Run run) {
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "event");
  check(cudaEventCreate(&b), "event");
  for (int i = 0; i < 3; ++i) run();
  double best = 0;
  for (int i = 0; i < 10; ++i) {
    check(cudaEventRecord(a), "record");
    run();
    check(cudaEventRecord(b), "record");
    check(cudaEventSynchronize(b), "sync");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, a, b), "elapsed");
    best = std::max(best, 2.0 * m * n * k / (ms * 1e-3) / 1e12);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> dims;
  for (int i = 1; i < argc; ++i) dims.push_back(std::atoll(argv[i]));
  if (dims.empty()) dims = {8192, 8192, 8192, 4096, 14336, 4096};
  if (dims.size() % 3 != 0) {
    std::fprintf(stderr, "usage: gpu_gemm_rate [M N K]...\n");
    return 2;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "device properties");
  cublasHandle_t h;
  check(cublasCreate(&h), "cublasCreate");
  for (size_t s = 0; s < dims.size(); s += 3) {
    const int64_t m = dims[s], n = dims[s + 1], k = dims[s + 2];
    void *a16, *b16, *c32, *a32, *b32;
    check(cudaMalloc(&a16, m * k * 2), "malloc");
    check(cudaMalloc(&b16, n * k * 2), "malloc");
    check(cudaMalloc(&a32, m * k * 4), "malloc");
    check(cudaMalloc(&b32, n * k * 4), "malloc");
    check(cudaMalloc(&c32, m * n * 4), "malloc");
    check(cudaMemset(a16, 0x3c, m * k * 2), "memset");  // small finite values
    check(cudaMemset(b16, 0x3c, n * k * 2), "memset");
    check(cudaMemset(a32, 0, m * k * 4), "memset");
    check(cudaMemset(b32, 0, n * k * 4), "memset");
    const float one = 1, zero = 0;
    // Column-major C[n x m] = B[k x n]ᵀ · A[k x m]: the row-major C = A·Bᵀ.
    const double bf16 = best_tflops(m, n, k, [&] {
      check(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &one, b16, CUDA_R_16BF, k, a16, CUDA_R_16BF, k, &zero,
                         c32, CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "cublasGemmEx bf16");
    });
    const double f32 = best_tflops(m, n, k, [&] {
      check(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &one, static_cast<const float*>(b32), k,
                        static_cast<const float*>(a32), k, &zero, static_cast<float*>(c32), n),
            "cublasSgemm");
    });
    std::printf("{\"gpu\": \"%s\", \"m\": %lld, \"n\": %lld, \"k\": %lld, \"bf16_tflops\": %.1f, \"f32_tflops\": %.1f}\n",
                prop.name, static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k), bf16, f32);
    for (void* p : {a16, b16, a32, b32, c32}) cudaFree(p);
  }
  cublasDestroy(h);
  return 0;
}
