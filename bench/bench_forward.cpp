// Forward throughput of a model at a given context on a device, printed next
// to the single-precision GEMM rate the same backend reaches (the BLAS on the
// CPU, cuBLAS on a GPU).
//
// usage: bench_forward [MODEL] [--ctx 2048] [--windows 2] [--data FILE]
//                      [--device cpu|cuda|cuda:N] [--random-tokens]
//   MODEL defaults to smollm2-135m (see scripts/fetch_models.py).
//   --random-tokens: uniform random ids (seed 0) instead of tokenized text,
//   for models without a tokenizer (bench/make_synthetic_llama).
// Output: the command line, the machine (CPU model, cores, BLAS threads),
// GEMM GFLOP/s for the model's own shapes and a square one (on the CPU over
// all OpenMP threads, as the forward runs), forward tokens/s
// and GFLOP/s (useful FLOPs: linears, causal attention, lm_head), and the ratio.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <omp.h>

#include "backend/op_table.h"
#include "backend/ops.h"
#include "settings/options.h"
#include "config/search.h"
#include "core/host_info.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/timer.h"
#include "eval/perplexity.h"
#include "io/text_stream.h"
#include "io/model_source.h"
#include "kernels/cpu/blas.h"
#include "kernels/cpu/blas_core.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

using namespace maca;

namespace {

// Best of `reps` runs of C[m,n] = A[m,k]·B[n,k]ᵀ on ctx's device, in GFLOP/s.
// The sgemm rate C = A·Bᵀ reaches on ctx's device, best of `reps` after a
// warm-up. On a GPU one call; on the CPU the rows of A split into one chunk
// per OpenMP thread, each a single-threaded BLAS call in parallel — the way
// the forward uses the cores (the BLAS itself runs on one thread, see
// kernels/cpu/threads.cpp), so the rate is the machine's, not one core's.
double gemm_gflops(backend::Context& ctx, int64_t m, int64_t n, int64_t k, int reps = 5) {
  Tensor a = Tensor::empty({m, k}), b = Tensor::empty({n, k});
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(-1, 1);
  for (Tensor* t : {&a, &b})
    for (int64_t i = 0; i < t->numel(); ++i) t->data<float>()[i] = u(rng);
  const Tensor da = ctx.to_device(a), db = ctx.to_device(b);
  Tensor c = ctx.empty({m, n});
  const auto* ap = static_cast<const float*>(da.raw());
  const auto* bp = static_cast<const float*>(db.raw());
  auto* cp = static_cast<float*>(c.raw());
  const int chunks = ctx.device().is_cpu() ? std::max(1, omp_get_max_threads()) : 1;
  const int64_t rows = (m + chunks - 1) / chunks;
  double best = 0;
  for (int r = 0; r <= reps; ++r) {  // run 0 warms up (cuBLAS heuristics, page faults)
    ctx.synchronize();
    Timer t;
#pragma omp parallel for num_threads(chunks) if (chunks > 1)
    for (int i = 0; i < chunks; ++i) {
      const int64_t r0 = i * rows, nr = std::min(rows, m - r0);
      if (nr > 0) backend::gemm(ctx, false, true, nr, n, k, 1.0f, ap + r0 * k, k, bp, k, 0.0f, cp + r0 * n, n);
    }
    ctx.synchronize();
    if (r > 0) best = std::max(best, 2.0 * m * n * k / t.seconds() / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  kernels::cpu::reexec_with_fitting_cpu_runtime(argv);
  use_mapped_large_allocations();  // as maca's main does, so the forward allocates as in a job
  std::string model_name = "smollm2-135m", data = "wikitext-2-raw/wiki.test.raw", device = "cpu";
  int64_t ctx_len = 2048, windows = 2;
  bool random_tokens = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--ctx" && i + 1 < argc) ctx_len = std::stoll(argv[++i]);
    else if (a == "--windows" && i + 1 < argc) windows = std::stoll(argv[++i]);
    else if (a == "--data" && i + 1 < argc) data = argv[++i];
    else if (a == "--device" && i + 1 < argc) device = argv[++i];
    else if (a == "--random-tokens") random_tokens = true;
    else if (a == "--help" || a == "-h") {
      std::printf("usage: bench_forward [MODEL] [--ctx 2048] [--windows 2] [--data FILE] [--device cpu|cuda] "
                  "[--random-tokens]\n");
      return 0;
    } else model_name = a;
  }
  try {
    init_logging(0, "warn");
    std::string cmd;
    for (int i = 0; i < argc; ++i) cmd += std::string(i ? " " : "") + argv[i];
    utsname un{};
    uname(&un);
    std::printf("command: %s\nmachine: %s, %s, %u hardware threads, %s %s\n", cmd.c_str(), un.nodename,
                cpu_model_name().c_str(), std::thread::hardware_concurrency(), un.sysname, un.release);
    const char* core_env = std::getenv("OPENBLAS_CORETYPE");
    const char* wait_env = std::getenv("OMP_WAIT_POLICY");
    const char* timeout_env = std::getenv("OPENBLAS_THREAD_TIMEOUT");
    std::printf("blas: %s, kernels %s%s; OMP_WAIT_POLICY=%s OPENBLAS_THREAD_TIMEOUT=%s\n",
                openblas_get_config ? openblas_get_config() : "not OpenBLAS",
                openblas_get_corename ? openblas_get_corename() : "-",
                core_env ? (std::string(" (OPENBLAS_CORETYPE=") + core_env + ")").c_str() : "",
                wait_env ? wait_env : "default", timeout_env ? timeout_env : "default");
    auto ctx = backend::Context::create(backend::parse_device(device));
    std::printf("device: %s (%s backend)\n", ctx->device().str().c_str(), ctx->ops().backend);
    const auto src = io::open_model(config::find_model(model_name));
    const model::Model model(*src, *ctx);
    const auto& s = model.spec();

    const double g_model = gemm_gflops(*ctx, ctx_len, s.intermediate, s.hidden);
    const double g_square = gemm_gflops(*ctx, 2048, 2048, 2048);
    const double g_ref = std::max(g_model, g_square);
    std::printf("sgemm (%s): %.1f GFLOP/s at [%lld x %lld x %lld] (model shape), %.1f GFLOP/s at 2048^3\n", ctx->ops().backend, g_model,
                static_cast<long long>(ctx_len), static_cast<long long>(s.intermediate),
                static_cast<long long>(s.hidden), g_square);

    std::vector<int32_t> ids;
    if (random_tokens) {
      std::mt19937 rng(0);
      std::uniform_int_distribution<int32_t> id(0, static_cast<int32_t>(s.vocab - 1));
      ids.resize(static_cast<size_t>(ctx_len * windows));
      for (auto& t : ids) t = id(rng);
    } else {
      const config::Config cfg(config::builtin_schema());
      const auto tok = tokenizer::load_tokenizer(config::find_model(model_name));
      ids = tok.encode(io::load_eval_text(config::find_data_file(data, cfg), io::TextFormat::Auto), true);
    }
    eval::PerplexityOptions opt;
    opt.ctx = ctx_len;
    opt.max_windows = windows;
    const auto r = eval::perplexity(model, ids, opt);

    // Useful FLOPs per window: linears 2·params·T, causal attention
    // 2·2·(T(T+1)/2)·head_dim·heads per layer, lm_head 2·hidden·vocab·(T−1).
    const double T = static_cast<double>(ctx_len);
    const double q = static_cast<double>(s.n_heads * s.head_dim), kv = static_cast<double>(s.n_kv_heads * s.head_dim);
    const double h = static_cast<double>(s.hidden), f = static_cast<double>(s.intermediate);
    const double linear_params = h * (q + 2 * kv) + q * h + 3 * h * f;
    const double per_layer = 2 * linear_params * T + 4 * (T * (T + 1) / 2) * static_cast<double>(s.head_dim) *
                                                         static_cast<double>(s.n_heads);
    const double lm_head = 2 * h * static_cast<double>(s.vocab) * (T - 1);
    const double flops = static_cast<double>(r.windows) * (per_layer * static_cast<double>(s.n_layers) + lm_head);
    const double gflops = flops / r.seconds / 1e9;
    std::printf("forward: %s, ctx %lld, %lld windows: %.1f tokens/s, %.1f GFLOP/s (%.1f GFLOP per window), %.1fs\n",
                model_name.c_str(), static_cast<long long>(ctx_len), static_cast<long long>(r.windows), r.tokens_per_s,
                gflops, flops / static_cast<double>(r.windows) / 1e9, r.seconds);
    // Targets: 70% of the BLAS sgemm rate on a CPU (issue 13); on a GPU the is 50%
    // of the cuBLAS bf16 rate, which bench/gpu/check.sh measures beside this.
    std::printf("ratio: forward reaches %.0f%% of the best sgemm rate (%.1f GFLOP/s)%s\n", 100.0 * gflops / g_ref,
                g_ref, ctx->device().is_cpu() ? "; target >= 70%" : "");
    std::printf("ppl over these windows: %.4f\n", r.ppl);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_forward: %s\n", e.what());
    return 1;
  }
  return 0;
}
