// The CUDA SNRQ ops (kernels/cuda/snrq_*.cu) against the CPU oracle: both run
// the row functions of kernels/shared/snrq_rows.h, so on the same inputs the
// codes, residual paths, scores, live counts, descent results and α terms
// must agree bit for bit. The inputs are fixed-seed and realistic: a
// Cholesky factor of an SPD matrix, targets on a 3-bit asymmetric grid with
// groups of 64, and a random tail correction for the second block (the tail
// GEMM itself is checked in test_ops_gpu_rounding.cpp). Skips at run time
// when no GPU is visible (label gpu).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"
#include "tests/backend/gpu_test_util.h"

namespace maca::backend {
namespace {

using namespace gpu_test;  // NOLINT(google-build-using-namespace): the shared test helpers

constexpr int64_t kRows = 300, kN = 256, kGroup = 64, kBlock = 96;
constexpr int kMaxq = 7;

// A layer's decoding inputs on the host: t, the lower factor l of an SPD H,
// H itself, per-group scales/zeros that fit t, the group of each column.
struct Inputs {
  std::vector<double> t, l, h;
  std::vector<float> scales;
  std::vector<int32_t> zeros, grp;
};

Inputs make_inputs() {
  Inputs in;
  in.t = random_vector<double>(static_cast<size_t>(kRows * kN), 40, 0.05);
  in.h = spd_matrix(kN, kN, 41);
  in.l.assign(static_cast<size_t>(kN * kN), 0.0);
  for (int64_t j = 0; j < kN; ++j) {  // plain Cholesky–Banachiewicz: any valid factor serves
    for (int64_t i = j; i < kN; ++i) {
      double s = in.h[i * kN + j];
      for (int64_t k = 0; k < j; ++k) s -= in.l[i * kN + k] * in.l[j * kN + k];
      in.l[i * kN + j] = i == j ? std::sqrt(s) : s / in.l[j * kN + j];
    }
  }
  const int64_t groups = kN / kGroup;
  in.scales.resize(static_cast<size_t>(groups * kRows));
  in.zeros.resize(in.scales.size());
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t r = 0; r < kRows; ++r) {
      double lo = 0, hi = 0;
      for (int64_t i = g * kGroup; i < (g + 1) * kGroup; ++i) {
        lo = std::min(lo, in.t[r * kN + i]);
        hi = std::max(hi, in.t[r * kN + i]);
      }
      const double s = (hi - lo) / kMaxq;
      in.scales[g * kRows + r] = static_cast<float>(s);
      in.zeros[g * kRows + r] = static_cast<int32_t>(std::nearbyint(-lo / s));
    }
  in.grp.resize(kN);
  for (int64_t i = 0; i < kN; ++i) in.grp[i] = static_cast<int32_t>(i / kGroup);
  return in;
}

// Decoder state of one backend: beam-major paths, scores, live counts.
struct State {
  Tensor t, l, scales, zeros, grp, e, path, score, live, corr;
};

State upload_state(Context& ctx, const Inputs& in, int64_t beams, const std::vector<double>& corr) {
  auto put = [&](const auto& v) { return upload(ctx, v); };
  State s{.t = put(in.t),
          .l = put(in.l),
          .scales = put(in.scales),
          .zeros = put(in.zeros),
          .grp = put(in.grp),
          .e = put(std::vector<double>(static_cast<size_t>(beams * kRows * kN), 0.0)),
          .path = put(std::vector<uint8_t>(static_cast<size_t>(beams * kRows * kN), 0)),
          .score = put(std::vector<double>(static_cast<size_t>(beams * kRows), 0.0)),
          .live = put(std::vector<int32_t>(kRows, 0)),
          .corr = put(corr)};
  return s;
}

snrq::Block block_args(State& s, int64_t i1, int64_t i2, bool greedy, int64_t beams, bool with_corr) {
  return {.t = ptr<double>(s.t),
          .rows = kRows,
          .n = kN,
          .i1 = i1,
          .i2 = i2,
          .l = ptr<double>(s.l),
          .corr = with_corr ? ptr<double>(s.corr) : nullptr,
          .scales = ptr<float>(s.scales),
          .zeros = ptr<int32_t>(s.zeros),
          .ldp = kRows,
          .grp = ptr<int32_t>(s.grp),
          .maxq = kMaxq,
          .greedy = greedy,
          .beams = beams,
          .e = ptr<double>(s.e),
          .path = ptr<uint8_t>(s.path),
          .score = ptr<double>(s.score),
          .live = ptr<int32_t>(s.live)};
}

template <class T>
int64_t count_diff(const std::vector<T>& a, const std::vector<T>& b, const char* what) {
  int64_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same_bits(a[i], b[i]) && bad++ < 5) ADD_FAILURE() << what << "[" << i << "]: " << +a[i] << " vs " << +b[i];
  return bad;
}

// Two blocks (the first, then one with a tail correction) on both backends.
void check_blocks(bool greedy, int64_t beams) {
  Contexts c;
  const Inputs in = make_inputs();
  const int64_t i2 = kN - kBlock, i1 = i2 - kBlock;
  const auto corr = random_vector<double>(static_cast<size_t>(beams * kRows * kBlock), 42, 0.02);
  State cs = upload_state(*c.cpu, in, beams, corr), gs = upload_state(*c.gpu, in, beams, corr);
  for (auto [ctx, s] : {std::pair<Context*, State*>{c.cpu.get(), &cs}, std::pair<Context*, State*>{c.gpu.get(), &gs}}) {
    snrq_block(*ctx, block_args(*s, i2, kN, greedy, beams, false));
    snrq_block(*ctx, block_args(*s, i1, i2, greedy, beams, true));
  }
  const std::string tag = greedy ? "greedy" : "beams " + std::to_string(beams);
  EXPECT_EQ(count_diff(download<uint8_t>(*c.gpu, gs.path), download<uint8_t>(*c.cpu, cs.path), "path"), 0) << tag;
  EXPECT_EQ(count_diff(download<double>(*c.gpu, gs.e), download<double>(*c.cpu, cs.e), "e"), 0) << tag;
  EXPECT_EQ(count_diff(download<double>(*c.gpu, gs.score), download<double>(*c.cpu, cs.score), "score"), 0) << tag;
  if (!greedy) {
    EXPECT_EQ(count_diff(download<int32_t>(*c.gpu, gs.live), download<int32_t>(*c.cpu, cs.live), "live"), 0) << tag;
  }
}

TEST(GpuSnrq, GreedyBlocksMatchCpuBitForBit) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  check_blocks(true, 1);
}

TEST(GpuSnrq, BeamBlocksMatchCpuBitForBit) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  for (const int64_t beams : {1, 4, 9}) check_blocks(false, beams);
}

TEST(GpuSnrq, DescentAndAlphaTermsMatchCpuBitForBit) {
  if (cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device visible";
  Contexts c;
  const Inputs in = make_inputs();
  // Codes from plain rounding of t, their residuals, and g = −(t − q)·H (host).
  std::vector<uint8_t> codes(static_cast<size_t>(kRows * kN));
  std::vector<double> e(codes.size()), g(codes.size(), 0.0);
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t i = 0; i < kN; ++i) {
      const int64_t gi = in.grp[i] * kRows + r;
      const double s = in.scales[gi], z = in.zeros[gi];
      const double q = grid::quantize_code(in.t[r * kN + i], s, z, kMaxq);
      codes[r * kN + i] = static_cast<uint8_t>(q);
      e[r * kN + i] = in.t[r * kN + i] - s * (q - z);
    }
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t k = 0; k < kN; ++k)
      for (int64_t j = 0; j < kN; ++j) g[r * kN + j] -= e[r * kN + k] * in.h[k * kN + j];
  const auto m = random_vector<double>(codes.size(), 43), x = random_vector<double>(codes.size(), 44);
  struct Out {
    std::vector<uint8_t> codes;
    std::vector<double> s, g, loss, terms;
  };
  auto run = [&](Context& ctx) {
    auto put = [&](const auto& v) { return upload(ctx, v); };
    Tensor t = put(in.t), h = put(in.h), sc = put(in.scales), z = put(in.zeros), gr = put(in.grp), cd = put(codes),
           sd = put(e), gd = put(g), loss = put(std::vector<double>(kRows, 0.0)), md = put(m), xd = put(x),
           terms = put(std::vector<double>(2 * kRows, 0.0));
    snrq_descent(ctx, {.t = ptr<double>(t),
                       .rows = kRows,
                       .n = kN,
                       .hp = ptr<double>(h),
                       .scales = ptr<float>(sc),
                       .zeros = ptr<int32_t>(z),
                       .ldp = kRows,
                       .grp = ptr<int32_t>(gr),
                       .maxq = kMaxq,
                       .passes = 3,
                       .codes = ptr<uint8_t>(cd),
                       .s = ptr<double>(sd),
                       .g = ptr<double>(gd),
                       .loss = ptr<double>(loss)});
    snrq_alpha_terms(ctx, {.codes = ptr<uint8_t>(cd),
                           .scales = ptr<float>(sc),
                           .zeros = ptr<int32_t>(z),
                           .ldp = kRows,
                           .grp = ptr<int32_t>(gr),
                           .w = ptr<double>(t),
                           .m = ptr<double>(md),
                           .x = ptr<double>(xd),
                           .rows = kRows,
                           .n = kN,
                           .terms = ptr<double>(terms)});
    return Out{download<uint8_t>(ctx, cd), download<double>(ctx, sd), download<double>(ctx, gd),
               download<double>(ctx, loss), download<double>(ctx, terms)};
  };
  const Out cpu = run(*c.cpu), gpu = run(*c.gpu);
  EXPECT_EQ(count_diff(gpu.codes, cpu.codes, "codes"), 0);
  EXPECT_EQ(count_diff(gpu.s, cpu.s, "s"), 0);
  EXPECT_EQ(count_diff(gpu.g, cpu.g, "g"), 0);
  EXPECT_EQ(count_diff(gpu.loss, cpu.loss, "loss"), 0);
  EXPECT_EQ(count_diff(gpu.terms, cpu.terms, "terms"), 0);
  // The passes did something: some codes moved off plain rounding.
  int64_t moved = 0;
  for (size_t i = 0; i < codes.size(); ++i) moved += cpu.codes[i] != codes[i];
  EXPECT_GT(moved, 0);
}

}  // namespace
}  // namespace maca::backend
