#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"

namespace maca::kernels::cpu {

// The angle is rounded to fp32 as in transformers (position · inv_freq in
// fp32) before cos/sin, so long contexts see the same phases as the reference.
void rope(Tensor& x, std::span<const int64_t> seq_lens, std::span<const float> inv_freq) {
  MACA_ASSERT(x.ndim() == 3, "rope: x {} is not [tokens, heads, head_dim]", x.str());
  const int64_t heads = x.dim(1), d = x.dim(2), half = d / 2;
  MACA_ASSERT(static_cast<int64_t>(inv_freq.size()) == half, "rope: {} frequencies for head_dim {}", inv_freq.size(),
              d);
  int64_t max_len = 0, total = 0;
  for (int64_t n : seq_lens) max_len = std::max(max_len, n), total += n;
  MACA_ASSERT(total == x.dim(0), "rope: seq_lens sum {} != tokens {}", total, x.dim(0));

  std::vector<float> cos_t(max_len * half), sin_t(max_len * half);
  for (int64_t p = 0; p < max_len; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const float angle = static_cast<float>(p) * inv_freq[i];
      cos_t[p * half + i] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin_t[p * half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }

  std::vector<int64_t> pos(total);
  for (int64_t t = 0; const int64_t n : seq_lens)
    for (int64_t p = 0; p < n; ++p) pos[t++] = p;

  float* xp = x.data<float>();
#pragma omp parallel for schedule(static) if (total * heads * d > 32768)
  for (int64_t t = 0; t < total; ++t) {
    const float* c = cos_t.data() + pos[t] * half;
    const float* s = sin_t.data() + pos[t] * half;
    for (int64_t h = 0; h < heads; ++h) {
      float* v = xp + (t * heads + h) * d;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[i], b = v[i + half];
        v[i] = a * c[i] - b * s[i];
        v[i + half] = b * c[i] + a * s[i];
      }
    }
  }
}

}  // namespace maca::kernels::cpu
