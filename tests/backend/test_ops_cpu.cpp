// CPU backend ops against naive reference implementations written out here
// (scalar loops in double precision, straight from the definitions).
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"
#include "core/error.h"

namespace maca::backend {
namespace {

Tensor random_tensor(Shape shape, uint32_t seed, float scale = 1.0f) {
  Tensor t = Tensor::empty(std::move(shape));
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

double max_abs_diff(const Tensor& a, const std::vector<double>& ref) {
  EXPECT_EQ(a.numel(), static_cast<int64_t>(ref.size()));
  double m = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a.data<float>()[i] - ref[i]));
  return m;
}

class CpuOps : public ::testing::Test {
 protected:
  std::unique_ptr<Context> ctx_ = Context::create(Device::cpu());
};

TEST_F(CpuOps, RmsnormBothConventions) {
  const Tensor x = random_tensor({5, 24}, 1), w = random_tensor({24}, 2, 0.3f);
  for (bool unit_offset : {false, true}) {
    Tensor y = Tensor::empty({5, 24});
    rmsnorm(*ctx_, x, w, 1e-6f, unit_offset, y);
    std::vector<double> ref(x.numel());
    for (int r = 0; r < 5; ++r) {
      double ss = 0.0;
      for (int j = 0; j < 24; ++j) ss += std::pow(x.data<float>()[r * 24 + j], 2);
      const double inv = 1.0 / std::sqrt(ss / 24 + 1e-6);
      for (int j = 0; j < 24; ++j)
        ref[r * 24 + j] = x.data<float>()[r * 24 + j] * inv * ((unit_offset ? 1.0 : 0.0) + w.data<float>()[j]);
    }
    EXPECT_LT(max_abs_diff(y, ref), 1e-5) << "unit_offset " << unit_offset;
  }
}

TEST_F(CpuOps, RopeRestartsPositionsPerSequence) {
  const std::vector<int64_t> lens = {3, 5};
  const int heads = 2, d = 8;
  Tensor x = random_tensor({8, heads, d}, 3);
  const Tensor x0 = x.clone();
  const std::vector<float> inv_freq = {1.0f, 0.3f, 0.05f, 0.001f};
  rope(*ctx_, x, lens, inv_freq);
  std::vector<double> ref(x.numel());
  for (int t = 0; t < 8; ++t) {
    const int pos = t < 3 ? t : t - 3;
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < d / 2; ++i) {
        const float* v = x0.data<float>() + (t * heads + h) * d;
        const double a = pos * static_cast<double>(inv_freq[i]);
        ref[(t * heads + h) * d + i] = v[i] * std::cos(a) - v[i + d / 2] * std::sin(a);
        ref[(t * heads + h) * d + i + d / 2] = v[i + d / 2] * std::cos(a) + v[i] * std::sin(a);
      }
  }
  EXPECT_LT(max_abs_diff(x, ref), 1e-5);
}

// Naive causal GQA attention, one query at a time.
std::vector<double> reference_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                        const std::vector<int64_t>& lens, double scale, int64_t window) {
  const int64_t hq = q.dim(1), d = q.dim(2), hkv = k.dim(1), group = hq / hkv;
  std::vector<double> out(q.numel());
  int64_t off = 0;
  for (int64_t n : lens) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t h = 0; h < hq; ++h) {
        const int64_t kh = h / group;
        const int64_t lo = window > 0 ? std::max<int64_t>(0, i - window + 1) : 0;
        std::vector<double> s;
        for (int64_t j = lo; j <= i; ++j) {
          double dot = 0.0;
          for (int64_t c = 0; c < d; ++c)
            dot += q.data<float>()[((off + i) * hq + h) * d + c] * k.data<float>()[((off + j) * hkv + kh) * d + c];
          s.push_back(dot * scale);
        }
        const double mx = *std::max_element(s.begin(), s.end());
        double sum = 0.0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int64_t c = 0; c < d; ++c) {
          double acc = 0.0;
          for (int64_t j = lo; j <= i; ++j) acc += s[j - lo] / sum * v.data<float>()[((off + j) * hkv + kh) * d + c];
          out[((off + i) * hq + h) * d + c] = acc;
        }
      }
    off += n;
  }
  return out;
}

struct AttentionCase {
  std::vector<int64_t> lens;
  int64_t hq, hkv, d, window;
};

TEST_F(CpuOps, AttentionMatchesNaive) {
  const std::vector<AttentionCase> cases = {
      {{7, 13}, 4, 2, 16, 0},    {{7, 13}, 4, 2, 16, 4}, {{300, 1, 45}, 3, 1, 8, 0},
      {{300, 130}, 6, 2, 8, 50}, {{260}, 2, 2, 4, 1},    {{5}, 4, 4, 16, 100},
      // Long sequences (several query tiles, more keys than a tile's rows),
      // with and without a window longer than a tile.
      {{700, 33}, 4, 2, 8, 0},   {{700}, 4, 2, 8, 300},  {{1030}, 3, 1, 8, 257},
  };
  for (const auto& c : cases) {
    const int64_t tokens = std::accumulate(c.lens.begin(), c.lens.end(), int64_t{0});
    const Tensor q = random_tensor({tokens, c.hq, c.d}, 10), k = random_tensor({tokens, c.hkv, c.d}, 11);
    const Tensor v = random_tensor({tokens, c.hkv, c.d}, 12);
    Tensor out = Tensor::empty({tokens, c.hq, c.d});
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.d));
    attention(*ctx_, q, k, v, c.lens, scale, c.window, out);
    EXPECT_LT(max_abs_diff(out, reference_attention(q, k, v, c.lens, scale, c.window)), 1e-5)
        << "hq " << c.hq << " hkv " << c.hkv << " window " << c.window << " first len " << c.lens[0];
  }
}

TEST_F(CpuOps, AttentionCachedMatchesPackedAtTheSamePositions) {
  // One sequence of 13 tokens; its keys in slot 1 of a cache (slot 0 holds
  // noise), the queries of positions 10..12; with a window of 4 the cache
  // holds only positions 7..12 (k_pos 7).
  const int64_t n = 13, hq = 4, hkv = 2, d = 8;
  const Tensor q = random_tensor({n, hq, d}, 20), k = random_tensor({n, hkv, d}, 21), v = random_tensor({n, hkv, d}, 22);
  const float scale = 0.3f;
  for (const int64_t window : {int64_t{0}, int64_t{4}}) {
    Tensor packed = Tensor::empty({n, hq, d});
    const std::vector<int64_t> lens = {n};
    attention(*ctx_, q, k, v, lens, scale, window, packed);
    const int64_t first = window > 0 ? 7 : 0, held = n - first;
    Tensor kc = random_tensor({2, 16, hkv, d}, 23), vc = random_tensor({2, 16, hkv, d}, 24);
    std::copy_n(k.data<float>() + first * hkv * d, held * hkv * d, kc.data<float>() + 16 * hkv * d);
    std::copy_n(v.data<float>() + first * hkv * d, held * hkv * d, vc.data<float>() + 16 * hkv * d);
    const Tensor qs = q.slice_rows(10, 13).clone();
    Tensor out = Tensor::empty({3, hq, d});
    const std::vector<CachedSeq> seqs = {{.slot = 1, .q_len = 3, .k_len = held, .k_pos = first}};
    attention_cached(*ctx_, qs, kc, vc, seqs, scale, window, out);
    double err = 0;
    for (int64_t i = 0; i < out.numel(); ++i)
      err = std::max(err, static_cast<double>(std::abs(out.data<float>()[i] - packed.data<float>()[10 * hq * d + i])));
    EXPECT_LT(err, 1e-6) << "window " << window;
  }
}

// Queries deep in a long sequence (hundreds of visible keys, inside a packed
// query tile) see the same result from the cache as in the packed sequence.
TEST_F(CpuOps, AttentionCachedMatchesPackedInALongSequence) {
  const int64_t n = 700, hq = 4, hkv = 2, d = 8, q0 = 520, nq = 4;
  const Tensor q = random_tensor({n, hq, d}, 25), k = random_tensor({n, hkv, d}, 26), v = random_tensor({n, hkv, d}, 27);
  const float scale = 0.35f;
  for (const int64_t window : {int64_t{0}, int64_t{300}}) {
    Tensor packed = Tensor::empty({n, hq, d});
    const std::vector<int64_t> lens = {n};
    attention(*ctx_, q, k, v, lens, scale, window, packed);
    const int64_t first = window > 0 ? q0 - window + 1 : 0, held = q0 + nq - first;
    Tensor kc = Tensor::zeros({1, 1024, hkv, d}), vc = Tensor::zeros({1, 1024, hkv, d});
    std::copy_n(k.data<float>() + first * hkv * d, held * hkv * d, kc.data<float>());
    std::copy_n(v.data<float>() + first * hkv * d, held * hkv * d, vc.data<float>());
    const Tensor qs = q.slice_rows(q0, q0 + nq).clone();
    Tensor out = Tensor::empty({nq, hq, d});
    const std::vector<CachedSeq> seqs = {{.slot = 0, .q_len = nq, .k_len = held, .k_pos = first}};
    attention_cached(*ctx_, qs, kc, vc, seqs, scale, window, out);
    double err = 0;
    for (int64_t i = 0; i < out.numel(); ++i)
      err = std::max(err, static_cast<double>(std::abs(out.data<float>()[i] - packed.data<float>()[q0 * hq * d + i])));
    EXPECT_LT(err, 1e-6) << "window " << window;
  }
}

TEST_F(CpuOps, RopeStartPositionsShiftEachSequence) {
  const std::vector<int64_t> lens = {2, 3}, start = {5, 0};
  const std::vector<float> inv_freq = {0.7f, 0.01f};
  Tensor x = random_tensor({5, 1, 4}, 30);
  Tensor whole = Tensor::empty({7, 1, 4});  // sequence 0 as positions 0..6
  std::copy_n(x.data<float>(), 8, whole.data<float>() + 5 * 4);
  rope(*ctx_, x, lens, inv_freq, start);
  const std::vector<int64_t> one = {7};
  rope(*ctx_, whole, one, inv_freq);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(x.data<float>()[i], whole.data<float>()[5 * 4 + i]);
}

TEST_F(CpuOps, GatedActivations) {
  const Tensor g = random_tensor({3, 40}, 4, 2.0f), u = random_tensor({3, 40}, 5);
  for (Activation act : {Activation::Silu, Activation::GeluTanh}) {
    Tensor out = Tensor::empty({3, 40});
    gated_activation(*ctx_, g, u, act, out);
    std::vector<double> ref(out.numel());
    for (int64_t i = 0; i < out.numel(); ++i) {
      const double x = g.data<float>()[i];
      const double a = act == Activation::Silu
                           ? x / (1.0 + std::exp(-x))
                           : 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
      ref[i] = a * u.data<float>()[i];
    }
    EXPECT_LT(max_abs_diff(out, ref), 1e-5);
  }
}

TEST_F(CpuOps, EmbeddingAndAdd) {
  const Tensor table = random_tensor({10, 6}, 6);
  const std::vector<int32_t> ids = {3, 0, 9, 3};
  Tensor out = Tensor::empty({4, 6});
  embedding(*ctx_, table, ids, 2.5f, out);
  std::vector<double> ref(out.numel());
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j) ref[i * 6 + j] = 2.5 * table.data<float>()[ids[i] * 6 + j];
  EXPECT_LT(max_abs_diff(out, ref), 1e-6);

  const Tensor x = random_tensor({4, 6}, 7);
  add_inplace(*ctx_, out, x);
  for (int i = 0; i < 24; ++i) ref[i] += x.data<float>()[i];
  EXPECT_LT(max_abs_diff(out, ref), 1e-6);

  const std::vector<int32_t> bad = {10};
  Tensor one = Tensor::empty({1, 6});
  EXPECT_THROW(embedding(*ctx_, table, bad, 1.0f, one), Error);
}

TEST_F(CpuOps, CrossEntropy) {
  const Tensor logits = random_tensor({4, 50}, 8, 5.0f);
  const std::vector<int32_t> targets = {0, 49, 7, 7};
  std::vector<double> nll(4);
  cross_entropy(*ctx_, logits, targets, nll);
  for (int i = 0; i < 4; ++i) {
    double sum = 0.0;
    for (int j = 0; j < 50; ++j) sum += std::exp(static_cast<double>(logits.data<float>()[i * 50 + j]));
    // exp terms are fp32 (≤ 3 ulp each), the sum fp64: log-sum-exp within ~2e-7.
    EXPECT_NEAR(nll[i], std::log(sum) - logits.data<float>()[i * 50 + targets[i]], 5e-7);
  }
}

}  // namespace
}  // namespace maca::backend
