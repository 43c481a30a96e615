// Throughput of the CPU forward pass relative to the machine's sgemm rate:
// the whole forward (all blocks + final norm, lm_head and NLL) of
// SmolLM2-135M on one 2048-token sequence, in useful FLOP/s (linears, causal
// half of QKᵀ and PV, lm_head), against the best sgemm rate on a block-sized
// product [2048, 576] · [576, 1536]. Target: at least 40%. Label `slow`
// (timings need a quiet machine); skips without the model file.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <numeric>

#include "backend/context.h"
#include "backend/ops.h"
#include "io/model_source.h"
#include "model/model.h"

namespace maca::model {
namespace {

namespace fs = std::filesystem;

template <class F>
double best_seconds(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

TEST(BenchForward, SmolLM2AtContext2048) {
  const char* env = std::getenv("MACA_MODEL_DIR");
  const char* home = std::getenv("HOME");
  const fs::path path = (env ? fs::path(env) : fs::path(home ? home : "/") / ".cache" / "maca" / "models") /
                        "SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent; run `python3 scripts/fetch_models.py --all`";
  const auto src = io::open_model(path);
  const auto ctx = backend::Context::create(Device::cpu());
  const Model model(*src, *ctx);
  const ModelSpec& s = model.spec();
  const int64_t t = 2048;

  const Tensor a = Tensor::zeros({t, s.hidden}), w = Tensor::zeros({s.intermediate, s.hidden});
  Tensor c = Tensor::empty({t, s.intermediate});
  const double gemm_s = best_seconds(5, [&] { backend::linear(*ctx, a, w, Tensor(), c); });
  const double gemm_rate = 2.0 * t * s.hidden * s.intermediate / gemm_s;

  std::vector<BlockWeights> blocks;
  for (int b = 0; b < s.n_layers; ++b) blocks.push_back(model.load_block(b));
  std::vector<int32_t> ids(t), targets(t);
  for (int64_t i = 0; i < t; ++i) ids[i] = static_cast<int32_t>((i * 7919) % s.vocab);
  std::iota(targets.begin(), targets.end(), 0);
  const std::vector<int64_t> lens = {t};
  std::vector<double> nll(t);
  model.token_nll(model.embed(ids), targets, nll);  // loads the head outside the timing
  const double fwd_s = best_seconds(2, [&] {
    Tensor hidden = model.embed(ids);
    for (int b = 0; b < s.n_layers; ++b) model.forward_block(blocks[b], b, hidden, lens);
    model.token_nll(hidden, targets, nll);
  });
  const double q = s.n_heads * s.head_dim, kv = s.n_kv_heads * s.head_dim;
  const double per_block = 2.0 * t * s.hidden * (2 * q + 2 * kv + 3 * s.intermediate) +
                           2.0 * 2.0 * (t * (t + 1) / 2.0) * s.head_dim * s.n_heads;
  const double flops = s.n_layers * per_block + 2.0 * t * s.hidden * s.vocab;
  const double ratio = flops / fwd_s / gemm_rate;
  std::printf("sgemm %.1f GFLOP/s; forward %.3f s = %.1f GFLOP/s = %.0f%% of sgemm\n", gemm_rate / 1e9, fwd_s,
              flops / fwd_s / 1e9, 100 * ratio);
  EXPECT_GE(ratio, 0.4);
}

}  // namespace
}  // namespace maca::model
