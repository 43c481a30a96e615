// CUDA attention and attention_cached against the CPU oracle on the same
// random inputs. Skips at run time when no GPU is visible (label gpu).
//
// Both sides compute in fp32 but differently: the CPU a two-pass softmax
// (fast_expf, sgemm), the GPU an online softmax over key tiles (expf, its
// own dot-product order). With N(0,1) inputs and scale 1/√d the scores are
// O(1) and the outputs O(1), so the two agree to ~1e-6; the tolerances leave
// a few times that.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"

namespace maca::backend {
namespace {

Tensor random_tensor(Shape shape, uint32_t seed) {
  Tensor t = Tensor::empty(std::move(shape));
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

// A device tensor of `shape` filled with NaN, so an element the kernel leaves
// unwritten fails the comparison.
Tensor nan_on_device(Context& gpu, const Shape& shape) {
  Tensor h = Tensor::empty(shape);
  for (int64_t i = 0; i < h.numel(); ++i) h.data<float>()[i] = std::numeric_limits<float>::quiet_NaN();
  return gpu.to_device(h);
}

// max |gpu − cpu|; infinity when the GPU wrote a non-finite value.
double max_abs_diff(const Tensor& gpu_host, const Tensor& cpu) {
  EXPECT_EQ(gpu_host.shape(), cpu.shape());
  double m = 0.0;
  for (int64_t i = 0; i < cpu.numel(); ++i) {
    const float g = gpu_host.data<float>()[i];
    if (!std::isfinite(g)) return std::numeric_limits<double>::infinity();
    m = std::max(m, static_cast<double>(std::abs(g - cpu.data<float>()[i])));
  }
  return m;
}

// attention on both contexts over packed sequences of `lens`; max |gpu − cpu|.
double packed_gap(Context& cpu, Context& gpu, const std::vector<int64_t>& lens, int64_t hq, int64_t hkv, int64_t d,
                  int64_t window, uint32_t seed) {
  int64_t tokens = 0;
  for (const int64_t n : lens) tokens += n;
  const Tensor q = random_tensor({tokens, hq, d}, seed), k = random_tensor({tokens, hkv, d}, seed + 1),
               v = random_tensor({tokens, hkv, d}, seed + 2);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  Tensor ref = Tensor::empty({tokens, hq, d});
  attention(cpu, q, k, v, lens, scale, window, ref);
  const Tensor qd = gpu.to_device(q), kd = gpu.to_device(k), vd = gpu.to_device(v);
  Tensor out = nan_on_device(gpu, {tokens, hq, d});
  attention(gpu, qd, kd, vd, lens, scale, window, out);
  return max_abs_diff(gpu.to_host(out), ref);
}

TEST(GpuAttention, PackedGqaWithoutWindow) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  const auto cpu = Context::create(Device::cpu());
  const auto gpu = Context::create(Device::cuda(0));
  // Lengths 1 (a lone query), 17 (a partial tile) and 300 (many key tiles); 7 query heads per kv head.
  const double tol = 1e-5;  // fp32 both sides, outputs O(1): online vs two-pass softmax differ ~1e-6
  EXPECT_LE(packed_gap(*cpu, *gpu, {1, 17, 300, 64}, 14, 2, 64, 0, 100), tol);
}

TEST(GpuAttention, PackedSlidingWindow) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  const auto cpu = Context::create(Device::cpu());
  const auto gpu = Context::create(Device::cuda(0));
  // No GQA, head_dim 128, a window of 32: key tiles before the window are skipped.
  const double tol = 1e-5;  // at most 32 keys per query: fewer terms than the unwindowed case
  EXPECT_LE(packed_gap(*cpu, *gpu, {130, 5, 64}, 8, 8, 128, 32, 200), tol);
}

TEST(GpuAttention, PackedGemma3LikeHeadDim256) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  const auto cpu = Context::create(Device::cpu());
  const auto gpu = Context::create(Device::cuda(0));
  // head_dim 256 (the largest), 4 query heads on one kv head, a 512 window inside a 700-token sequence.
  const double tol = 2e-5;  // 256-term dot products and up to 512 keys per query: more rounding per output
  EXPECT_LE(packed_gap(*cpu, *gpu, {700, 9}, 4, 1, 256, 512, 300), tol);
}

TEST(GpuAttention, PackedHeadDimsNotAMultipleOf32) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  const auto cpu = Context::create(Device::cpu());
  const auto gpu = Context::create(Device::cuda(0));
  // 80 and 96: lanes own a partial last slice of the head.
  const double tol = 1e-5;  // as the head_dim 64 case
  EXPECT_LE(packed_gap(*cpu, *gpu, {33, 1, 90}, 6, 2, 80, 0, 400), tol);
  EXPECT_LE(packed_gap(*cpu, *gpu, {33, 1, 90}, 6, 3, 96, 20, 500), tol);
}

TEST(GpuAttention, CachedMatchesCpuCached) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  const auto cpu = Context::create(Device::cpu());
  const auto gpu = Context::create(Device::cuda(0));
  const int64_t slots = 3, cap = 80, hq = 8, hkv = 2, d = 80, window = 32;
  // Decoding (1 query, 40 keys), a 5-token step (60 keys), and a slot whose
  // kept keys start at position 100 (a sliding-window cache shifted down).
  const std::vector<CachedSeq> seqs = {{.slot = 2, .q_len = 1, .k_len = 40, .k_pos = 0},
                                       {.slot = 0, .q_len = 5, .k_len = 60, .k_pos = 0},
                                       {.slot = 1, .q_len = 1, .k_len = 32, .k_pos = 100}};
  const Tensor q = random_tensor({7, hq, d}, 600), kc = random_tensor({slots, cap, hkv, d}, 601),
               vc = random_tensor({slots, cap, hkv, d}, 602);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  Tensor ref = Tensor::empty({7, hq, d});
  attention_cached(*cpu, q, kc, vc, seqs, scale, window, ref);
  const Tensor qd = gpu->to_device(q), kd = gpu->to_device(kc), vd = gpu->to_device(vc);
  Tensor out = nan_on_device(*gpu, {7, hq, d});
  attention_cached(*gpu, qd, kd, vd, seqs, scale, window, out);
  const double tol = 1e-5;  // at most 32 keys per query, fp32 both sides
  EXPECT_LE(max_abs_diff(gpu->to_host(out), ref), tol);
}

TEST(GpuAttention, SameBitsAloneInABatchAndFromACache) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  const auto gpu = Context::create(Device::cuda(0));
  // A row's arithmetic depends only on its query and the keys it sees (key
  // tiles at fixed positions, no dependence on the rest of its block), so the
  // middle sequence of a batch gives the same bits alone, and its last 17
  // queries against a cache holding only the keys they see the same bits again.
  const int64_t hq = 6, hkv = 2, d = 64, n = 77;
  const Tensor q = random_tensor({122, hq, d}, 900), k = random_tensor({122, hkv, d}, 901),
               v = random_tensor({122, hkv, d}, 902);
  const std::vector<int64_t> lens = {5, n, 40}, alone_len = {n};
  const auto bytes = [&](int64_t rows) { return static_cast<size_t>(rows * hq * d) * sizeof(float); };
  for (const int64_t window : {int64_t{0}, int64_t{20}}) {
    Tensor batch = nan_on_device(*gpu, {122, hq, d});
    attention(*gpu, gpu->to_device(q), gpu->to_device(k), gpu->to_device(v), lens, 0.125f, window, batch);
    const Tensor batch_h = gpu->to_host(batch);

    const Tensor q1 = q.slice_rows(5, 5 + n).clone(), k1 = k.slice_rows(5, 5 + n).clone(),
                 v1 = v.slice_rows(5, 5 + n).clone();
    Tensor alone = nan_on_device(*gpu, {n, hq, d});
    attention(*gpu, gpu->to_device(q1), gpu->to_device(k1), gpu->to_device(v1), alone_len, 0.125f, window, alone);
    const Tensor alone_h = gpu->to_host(alone);
    EXPECT_EQ(std::memcmp(alone_h.raw(), batch_h.data<float>() + 5 * hq * d, bytes(n)), 0) << "window " << window;

    // Queries at positions 60..76; the cache (slot 1 of 2) holds positions first..76.
    const int64_t first = window > 0 ? 60 - window + 1 : 0, held = n - first, row = hkv * d;
    Tensor kc = random_tensor({2, 100, hkv, d}, 903), vc = random_tensor({2, 100, hkv, d}, 904);
    std::copy_n(k1.data<float>() + first * row, held * row, kc.data<float>() + 100 * row);
    std::copy_n(v1.data<float>() + first * row, held * row, vc.data<float>() + 100 * row);
    const std::vector<CachedSeq> seqs = {{.slot = 1, .q_len = 17, .k_len = held, .k_pos = first}};
    Tensor cached = nan_on_device(*gpu, {17, hq, d});
    attention_cached(*gpu, gpu->to_device(q1.slice_rows(60, n).clone()), gpu->to_device(kc), gpu->to_device(vc), seqs,
                     0.125f, window, cached);
    const Tensor cached_h = gpu->to_host(cached);
    EXPECT_EQ(std::memcmp(cached_h.raw(), alone_h.data<float>() + 60 * hq * d, bytes(17)), 0) << "window " << window;
  }
}

}  // namespace
}  // namespace maca::backend
