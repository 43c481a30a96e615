// Prepared statistics (quant/prepared_stats.h): one preparation serves every
// layer and row slice of a group, in memory the caller gives (a node-shared
// window in rows mode), and a rank that only maps that memory and receives
// the small fields rounds to the same bytes.
#include <gtest/gtest.h>

#include "common/quantize_with.h"
#include "core/error.h"
#include "quant/method.h"
#include "random_matrix.h"

namespace maca::quant {
namespace {

// H = 2/N XᵀX and D = 2/N (X_fp − X)ᵀX as f32, with input `dead` never active
// and the diagonal lowered by `shift` of its mean (so the first damping may fail).
struct Stats {
  Tensor h, d;
};
Stats stats(int64_t n, int64_t dead, double shift) {
  const int64_t N = 3 * n;
  Tensor x = random_matrix(N, n, 11, 1.0f), e = random_matrix(N, n, 12, 0.1f);
  for (int64_t r = 0; r < N; ++r) x.data<float>()[r * n + dead] = 0;
  Stats s{Tensor::zeros({n, n}), Tensor::zeros({n, n})};
  const float* p = x.data<float>();
  const float* q = e.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double hh = 0, dd = 0;
      for (int64_t r = 0; r < N; ++r) {
        hh += static_cast<double>(p[r * n + i]) * p[r * n + j];
        dd += static_cast<double>(q[r * n + i]) * p[r * n + j];
      }
      s.h.data<float>()[i * n + j] = static_cast<float>(2 * hh / N);
      s.d.data<float>()[i * n + j] = static_cast<float>(2 * dd / N);
    }
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += s.h.data<float>()[i * (n + 1)] / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    if (i != dead) s.h.data<float>()[i * (n + 1)] -= static_cast<float>(shift * mean);
  return s;
}

void expect_same(const QuantizedLinear& a, const QuantizedLinear& b, const std::string& what) {
  EXPECT_EQ(a.codes, b.codes) << what;
  EXPECT_EQ(a.scales, b.scales) << what;
  EXPECT_EQ(a.zeros, b.zeros) << what;
  EXPECT_EQ(a.perm, b.perm) << what;
  EXPECT_EQ(a.damp, b.damp) << what;
  EXPECT_EQ(a.loss, b.loss) << what;
}

const test::Settings kMethods[] = {
    {{"quant.method", "gptq"}, {"quant.gptq.act_order", "true"}, {"quant.group_size", "16"}},
    {{"quant.method", "gptaq"}, {"quant.group_size", "16"}},
    {{"quant.method", "snrq"}, {"quant.snrq.cd_passes", "2"}, {"quant.group_size", "16"}},
    {{"quant.method", "ksnrq"}, {"quant.snrq.alpha_mode", "closed_form"}, {"quant.group_size", "16"}},
};

TEST(PreparedStats, CallerMemoryAndAMappingRankGiveTheBytesOfAFreshPreparation) {
  const int64_t n = 48;
  // λ = 0.01 cannot make it positive definite: the retry refills the caller's memory.
  const Stats s = stats(n, 5, 0.5);
  const Tensor w1 = random_matrix(64, n, 1, 0.1f), w2 = random_matrix(32, n, 2, 0.1f);
  const auto ctx = backend::Context::create(Device::cpu());
  for (const test::Settings& settings : kMethods) {
    const std::string what = settings.at("quant.method");
    const auto m = create_method(test::quant_config(settings));
    const PrepRequest req = m->prep_request();
    ASSERT_GT(req.matrices(), 0) << what;
    const LayerStats ls{.h = &s.h, .d = req.cross ? &s.d : nullptr};
    const LayerSite site{.name = "blk.0." + what};

    std::vector<Tensor> memory;  // what a node-shared window would hold
    PreparedStats mine = allocate_prepared(*ctx, req, n, [&] {
      memory.push_back(Tensor::empty({n, n}, DType::F64));
      return memory.back();
    });
    ASSERT_EQ(static_cast<int>(memory.size()), req.matrices()) << what;
    prepare(*ctx, req, ls, m->grid(), site.name, mine);
    EXPECT_GT(mine.factors.damp, 0.01) << what << ": the first damping should have failed";
    for (const Tensor* t : {&mine.factors.hinv_u, &mine.factors.h_factor, &mine.factors.hp_lower, &mine.factors.hp,
                            &mine.d})
      if (t->defined())
        EXPECT_TRUE(std::any_of(memory.begin(), memory.end(), [&](const Tensor& m) { return m.raw() == t->raw(); }))
            << what << ": a prepared matrix left the caller's memory";

    // Another rank: the same memory, the small fields from bytes.
    size_t next = 0;
    PreparedStats mapped = allocate_prepared(*ctx, req, n, [&] { return memory[next++]; });
    unpack_small(pack_small(mine), mapped);
    EXPECT_EQ(mapped.perm, mine.perm) << what;
    EXPECT_EQ(mapped.dead, mine.dead) << what;
    EXPECT_EQ(mapped.dead[5], 1) << what;

    for (const Tensor* w : {&w1, &w2}) {  // one preparation, two layers of the group
      const QuantizedLinear fresh = m->round_layer(*ctx, *w, ls, site);
      expect_same(m->round(*ctx, *w, mine, site), fresh, what + " (caller memory)");
      expect_same(m->round(*ctx, *w, mapped, site), fresh, what + " (mapped)");
    }
  }
}

TEST(PreparedStats, AWeightOfAnotherWidthIsAnErrorNamingTheLayer) {
  const Stats s = stats(32, 0, 0.0);
  const auto ctx = backend::Context::create(Device::cpu());
  const auto m = create_method(test::quant_config({{"quant.method", "gptq"}, {"quant.group_size", "16"}}));
  const PreparedStats p = prepare(*ctx, m->prep_request(), {.h = &s.h}, m->grid(), "blk.0.q_proj");
  try {
    m->round(*ctx, random_matrix(8, 48, 3, 0.1f), p, {.name = "blk.0.k_proj"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.0.k_proj: the Hessian is for 32 inputs, the weight has 48"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace maca::quant
