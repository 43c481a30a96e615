// The CUDA elementwise and row-wise ops (rmsnorm, rope, gated_activation,
// embedding, add_inplace, cross_entropy) against the CPU oracle on the same
// random inputs of realistic shapes. Each case states its tolerance and why.
// Skips at run time when no GPU is visible (label gpu).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"
#include "core/error.h"

namespace maca::backend {
namespace {

Tensor random_tensor(Shape shape, uint32_t seed, float mean = 0.0f, float stddev = 1.0f) {
  Tensor t = Tensor::empty(std::move(shape));
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(mean, stddev);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

// max |got − want| / (|want| + floor) over the elements: relative error, with
// `floor` keeping outputs near 0 (cancellations) from dominating.
double max_rel_err(const Tensor& got, const Tensor& want, double floor) {
  EXPECT_EQ(got.shape(), want.shape());
  double m = 0.0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.data<float>()[i], w = want.data<float>()[i];
    m = std::max(m, std::abs(g - w) / (std::abs(w) + floor));
  }
  return m;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

struct Contexts {
  std::unique_ptr<Context> cpu = Context::create(Device::cpu());
  std::unique_ptr<Context> cuda = Context::create(Device::cuda(0));
};

TEST(CudaElementwise, RmsnormMatchesCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t rows = 333;
  for (const int64_t d : {2048, 128})
    for (const bool unit_offset : {false, true}) {
      SCOPED_TRACE(testing::Message() << "d " << d << " unit_offset " << unit_offset);
      const Tensor x = random_tensor({rows, d}, 10 + static_cast<uint32_t>(d));
      // Weights near 1 for w, near 0 for Gemma's (1 + w).
      const Tensor w = random_tensor({d}, 11, unit_offset ? 0.0f : 1.0f, 0.1f);
      Tensor want = Tensor::empty({rows, d});
      rmsnorm(*c.cpu, x, w, 1e-6f, unit_offset, want);
      const Tensor dx = c.cuda->to_device(x), dw = c.cuda->to_device(w);
      Tensor dy = c.cuda->empty({rows, d});
      rmsnorm(*c.cuda, dx, dw, 1e-6f, unit_offset, dy);
      const Tensor got = c.cuda->to_host(dy);
      // Same fp32 expressions on both; only the fp64 sum of squares is added in
      // another order, which can move inv by an ulp: ~1e-7 relative, 1e-6 allowed.
      EXPECT_NEAR(max_rel_err(got, want, 1e-6), 0.0, 1e-6);
      // Fixed reduction tree: the same bits on a second run.
      Tensor dy2 = c.cuda->empty({rows, d});
      rmsnorm(*c.cuda, dx, dw, 1e-6f, unit_offset, dy2);
      EXPECT_TRUE(same_bits(c.cuda->to_host(dy2), got));
      // In place (y aliasing x) gives the same result.
      Tensor dxi = c.cuda->to_device(x);
      rmsnorm(*c.cuda, dxi, dw, 1e-6f, unit_offset, dxi);
      EXPECT_TRUE(same_bits(c.cuda->to_host(dxi), got));
    }
}

TEST(CudaElementwise, RopeMatchesCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const std::vector<int64_t> lens = {5, 130, 1};
  const int64_t tokens = 136, heads = 14, d = 64;
  std::vector<float> inv_freq(d / 2);
  for (int64_t i = 0; i < d / 2; ++i)
    inv_freq[i] = static_cast<float>(1.0 / std::pow(1e6, 2.0 * static_cast<double>(i) / static_cast<double>(d)));
  const std::vector<int64_t> start = {3, 100, 40000};
  for (const bool with_start : {false, true}) {
    SCOPED_TRACE(testing::Message() << "with_start " << with_start);
    const std::span<const int64_t> st = with_start ? std::span<const int64_t>(start) : std::span<const int64_t>();
    const Tensor x = random_tensor({tokens, heads, d}, 20);
    Tensor want = x.clone();
    rope(*c.cpu, want, lens, inv_freq, st);
    Tensor dx = c.cuda->to_device(x);
    rope(*c.cuda, dx, lens, inv_freq, st);
    const Tensor got = c.cuda->to_host(dx);
    // The same fp32 angles; cos/sin in fp64 (CUDA's ≤ 2 ulp vs glibc's) rarely
    // round to another fp32, and the GPU may fuse a·c − b·s into an fma: an ulp
    // or two of O(1) values, ~2e-7 against the floor of 1; 1e-6 allowed.
    EXPECT_NEAR(max_rel_err(got, want, 1.0), 0.0, 1e-6);
  }
}

TEST(CudaElementwise, GatedActivationMatchesCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t n = 100000;
  const Tensor gate = random_tensor({n}, 30, 0.0f, 2.0f), up = random_tensor({n}, 31);
  for (const Activation act : {Activation::Silu, Activation::GeluTanh}) {
    const bool silu = act == Activation::Silu;
    SCOPED_TRACE(silu ? "silu" : "gelu_tanh");
    Tensor want = Tensor::empty({n});
    gated_activation(*c.cpu, gate, up, act, want);
    const Tensor dg = c.cuda->to_device(gate), du = c.cuda->to_device(up);
    Tensor dout = c.cuda->empty({n});
    gated_activation(*c.cuda, dg, du, act, dout);
    const Tensor got = c.cuda->to_host(dout);
    if (silu)
      // CUDA's expf (≤ 2 ulp) vs the CPU's fast_expf (≤ 3 ulp), then the same
      // fp32 division and product: ≤ ~6 ulp ≈ 4e-7 relative; 1e-6 allowed.
      EXPECT_NEAR(max_rel_err(got, want, 1e-6), 0.0, 1e-6);
    else
      // tanhf differs by ≤ ~3 ulp of 1 (1.8e-7) between CUDA and glibc, and
      // 1 + tanh cancels for gate ≪ 0, so the error is absolute, ≤ 1.8e-7 ·
      // |gate·up|/2: up to ~2e-6 at this draw's extremes against the floor of
      // 1; 5e-6 allowed.
      EXPECT_NEAR(max_rel_err(got, want, 1.0), 0.0, 5e-6);
    // out aliasing gate gives the same result.
    Tensor dgi = c.cuda->to_device(gate);
    gated_activation(*c.cuda, dgi, du, act, dgi);
    EXPECT_TRUE(same_bits(c.cuda->to_host(dgi), got));
  }
}

TEST(CudaElementwise, EmbeddingMatchesCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t vocab = 1000, d = 96, n = 77;
  const Tensor table = random_tensor({vocab, d}, 40);
  std::mt19937 rng(41);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = static_cast<int32_t>(rng() % vocab);
  ids[0] = 0;
  ids[1] = static_cast<int32_t>(vocab - 1);
  const float scale = std::sqrt(static_cast<float>(d));  // Gemma's embedding scale
  Tensor want = Tensor::empty({n, d});
  embedding(*c.cpu, table, ids, scale, want);
  const Tensor dt = c.cuda->to_device(table);
  Tensor dout = c.cuda->empty({n, d});
  embedding(*c.cuda, dt, ids, scale, dout);
  // One correctly rounded fp32 product per element on both: exact.
  EXPECT_NEAR(max_rel_err(c.cuda->to_host(dout), want, 1e-30), 0.0, 0.0);
}

TEST(CudaElementwise, EmbeddingRejectsIdsOutsideTheVocabulary) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const Tensor dt = c.cuda->to_device(random_tensor({10, 8}, 50));
  Tensor dout = c.cuda->empty({2, 8});
  const std::vector<int32_t> too_big = {3, 10}, negative = {-1, 3};
  EXPECT_THROW(embedding(*c.cuda, dt, too_big, 1.0f, dout), Error);
  EXPECT_THROW(embedding(*c.cuda, dt, negative, 1.0f, dout), Error);
}

TEST(CudaElementwise, AddInplaceMatchesCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t n = 100000;
  const Tensor y = random_tensor({n}, 60), x = random_tensor({n}, 61);
  Tensor want = y.clone();
  add_inplace(*c.cpu, want, x);
  Tensor dy = c.cuda->to_device(y);
  add_inplace(*c.cuda, dy, c.cuda->to_device(x));
  // One correctly rounded fp32 sum per element on both: exact.
  EXPECT_NEAR(max_rel_err(c.cuda->to_host(dy), want, 1e-30), 0.0, 0.0);
}

TEST(CudaElementwise, CrossEntropyMatchesCpu) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const int64_t rows = 37, vocab = 49152;
  const Tensor logits = random_tensor({rows, vocab}, 70, 0.0f, 4.0f);
  std::mt19937 rng(71);
  std::vector<int32_t> targets(rows);
  for (auto& t : targets) t = static_cast<int32_t>(rng() % vocab);
  std::vector<double> want(rows), got(rows), again(rows);
  cross_entropy(*c.cpu, logits, targets, want);
  const Tensor dl = c.cuda->to_device(logits);
  cross_entropy(*c.cuda, dl, targets, got);
  // Each fp32 exp differs by a few ulp (CUDA expf vs fast_expf), the fp64 sums
  // in another order by ~1e-16: log(sum) moves by ≤ ~3e-7; 1e-5 absolute allowed.
  double err = 0.0;
  for (int64_t i = 0; i < rows; ++i) err = std::max(err, std::abs(got[i] - want[i]));
  EXPECT_NEAR(err, 0.0, 1e-5);
  // Fixed reduction tree: the same bits on a second run.
  cross_entropy(*c.cuda, dl, targets, again);
  EXPECT_EQ(std::memcmp(got.data(), again.data(), rows * sizeof(double)), 0);
  // A target outside the vocabulary is a user error, as on the CPU.
  targets[5] = static_cast<int32_t>(vocab);
  EXPECT_THROW(cross_entropy(*c.cuda, dl, targets, got), Error);
}

}  // namespace
}  // namespace maca::backend
