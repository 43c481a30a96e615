// kernels/shared/gptq_step.h, the per-element arithmetic of the CUDA
// gptq_columns kernel, against the CPU oracle: the column loop written with
// the shared step (the kernel's loop, one row at a time) must reproduce
// kernels/cpu/gptq_columns.cpp bit for bit on the host, ties and clamping
// included, so the kernel can differ from the CPU only where the device's
// arithmetic differs from the host's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backend/context.h"
#include "backend/ops.h"
#include "kernels/shared/gptq_step.h"

namespace maca {
namespace {

struct Block {
  int64_t rows, ncols, ldw, ldh, ldp, ldc, lde, group;
  int maxq;
  std::vector<double> w, hinv, err, loss;
  std::vector<float> scales;
  std::vector<int32_t> zeros, grp;
  std::vector<uint8_t> codes;

  backend::GptqColumns args() {
    return {.w = w.data(),
            .rows = rows,
            .ncols = ncols,
            .ldw = ldw,
            .hinv = hinv.data(),
            .ldh = ldh,
            .scales = scales.data(),
            .zeros = zeros.data(),
            .ldp = ldp,
            .grp = grp.data(),
            .maxq = maxq,
            .codes = codes.data(),
            .ldc = ldc,
            .err = err.data(),
            .lde = lde,
            .loss = loss.data()};
  }
};

// Random rows [7, 40] (padded leading dimensions), groups of 16 (the last one
// short), an upper-triangular hinv with a positive diagonal, scales and zero
// points that clamp a fair share of the codes, and exact rounding ties
// (w / s = k + ½) in the first column of rows 0 and 1.
Block make_block(int maxq, uint32_t seed) {
  Block b;
  b.rows = 7, b.ncols = 40, b.group = 16, b.maxq = maxq;
  b.ldw = 43, b.ldh = 41, b.ldp = 9, b.ldc = 42, b.lde = 44;
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  b.w.resize(static_cast<size_t>(b.rows * b.ldw));
  for (double& v : b.w) v = normal(rng);
  b.hinv.assign(static_cast<size_t>(b.ncols * b.ldh), 0.0);
  for (int64_t i = 0; i < b.ncols; ++i) {
    b.hinv[i * b.ldh + i] = 0.5 + uniform(rng);
    for (int64_t j = i + 1; j < b.ncols; ++j) b.hinv[i * b.ldh + j] = 0.2 * normal(rng);
  }
  const int64_t n_groups = (b.ncols + b.group - 1) / b.group;
  b.scales.resize(static_cast<size_t>(n_groups * b.ldp));
  b.zeros.resize(b.scales.size());
  for (size_t i = 0; i < b.scales.size(); ++i) {
    b.scales[i] = static_cast<float>(0.05 + 0.3 * uniform(rng));
    b.zeros[i] = static_cast<int32_t>(rng() % static_cast<uint32_t>(maxq + 1));
  }
  for (int64_t j = 0; j < b.ncols; ++j) b.grp.push_back(static_cast<int32_t>(j / b.group));
  b.scales[0] = b.scales[1] = 0.25f;
  b.w[0] = 0.25 * 2.5;                           // rounds to 2 (half to even)
  b.w[static_cast<size_t>(b.ldw)] = 0.25 * 3.5;  // rounds to 4
  b.codes.assign(static_cast<size_t>(b.rows * b.ldc), 0);
  b.err.assign(static_cast<size_t>(b.rows * b.lde), 0.0);
  b.loss.assign(static_cast<size_t>(b.rows), 0.25);
  return b;
}

// The kernel's loop (kernels/cuda/gptq_columns.cu) for one row at a time.
void shared_step_columns(const backend::GptqColumns& a, int64_t c0, int64_t c1) {
  for (int64_t r = 0; r < a.rows; ++r) {
    double* w = a.w + r * a.ldw;
    double loss = 0.0;
    for (int64_t j = c0; j < c1; ++j) {
      const int64_t gi = static_cast<int64_t>(a.grp[j]) * a.ldp + r;
      const double s = a.scales[gi], z = a.zeros[gi];
      const double* h = a.hinv + j * a.ldh;
      const kernels::GptqStep st = kernels::gptq_step(w[j], s, z, a.maxq, h[j]);
      a.codes[r * a.ldc + j] = static_cast<uint8_t>(st.q);
      a.err[r * a.lde + j] = st.e;
      loss = kernels::gptq_add_loss(loss, st.e);
      for (int64_t k = j + 1; k < a.ncols; ++k) w[k] = kernels::gptq_update(w[k], st.e, h[k]);
    }
    a.loss[r] = kernels::gptq_sum(a.loss[r], loss);
  }
}

template <class T>
bool bitwise_equal(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

TEST(GptqStep, SharedStepMatchesCpuColumnsBitForBit) {
  const auto cpu = backend::Context::create(Device::cpu());
  for (const int maxq : {7, 15}) {
    Block ref = make_block(maxq, 1000 + static_cast<uint32_t>(maxq));
    Block got = ref;
    // Group by group, as GPTQ's dynamic groups drive it.
    for (int64_t c0 = 0; c0 < ref.ncols; c0 += ref.group) {
      const int64_t c1 = std::min(ref.ncols, c0 + ref.group);
      backend::gptq_columns(*cpu, ref.args(), c0, c1);
      shared_step_columns(got.args(), c0, c1);
    }
    EXPECT_TRUE(bitwise_equal(ref.codes, got.codes)) << "maxq " << maxq;
    EXPECT_TRUE(bitwise_equal(ref.w, got.w)) << "maxq " << maxq;
    EXPECT_TRUE(bitwise_equal(ref.err, got.err)) << "maxq " << maxq;
    EXPECT_TRUE(bitwise_equal(ref.loss, got.loss)) << "maxq " << maxq;

    // The data exercises what the step decides: ties, interior and clamped codes.
    EXPECT_EQ(got.codes[0], static_cast<uint8_t>(std::min(maxq, std::max(0, 2 + got.zeros[0]))));
    EXPECT_EQ(got.codes[static_cast<size_t>(got.ldc)],
              static_cast<uint8_t>(std::min(maxq, std::max(0, 4 + got.zeros[1]))));
    int low = 0, high = 0, inside = 0;
    for (int64_t r = 0; r < got.rows; ++r)
      for (int64_t j = 0; j < got.ncols; ++j) {
        const int q = got.codes[static_cast<size_t>(r * got.ldc + j)];
        (q == 0 ? low : q == maxq ? high : inside) += 1;
      }
    EXPECT_GT(low, 0) << "maxq " << maxq;
    EXPECT_GT(high, 0) << "maxq " << maxq;
    EXPECT_GT(inside, got.rows * got.ncols / 4) << "maxq " << maxq;
  }
}

TEST(GptqStep, RoundsHalfToEvenAndClamps) {
  // w / s = 2.5 → 2, 3.5 → 4, −0.5 → −0 (then + z); clamped to [0, maxq].
  EXPECT_EQ(kernels::gptq_step(0.625, 0.25, 0.0, 15.0, 1.0).q, 2.0);
  EXPECT_EQ(kernels::gptq_step(0.875, 0.25, 0.0, 15.0, 1.0).q, 4.0);
  EXPECT_EQ(kernels::gptq_step(-0.125, 0.25, 3.0, 15.0, 1.0).q, 3.0);
  EXPECT_EQ(kernels::gptq_step(-10.0, 0.25, 3.0, 15.0, 1.0).q, 0.0);
  EXPECT_EQ(kernels::gptq_step(10.0, 0.25, 3.0, 15.0, 1.0).q, 15.0);
  // e = (w − s·(q − z)) / d.
  EXPECT_EQ(kernels::gptq_step(10.0, 0.25, 3.0, 15.0, 2.0).e, (10.0 - 0.25 * (15.0 - 3.0)) / 2.0);
}

}  // namespace
}  // namespace maca
