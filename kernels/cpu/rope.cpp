#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/shared/elementwise_math.h"

namespace maca::kernels::cpu {

// The angle is rounded to fp32 as in transformers (position · inv_freq in
// fp32) before cos/sin, so long contexts see the same phases as the reference.
void rope(backend::Context&, Tensor& x, std::span<const int64_t> seq_lens, std::span<const float> inv_freq,
          std::span<const int64_t> start) {
  MACA_ASSERT(x.ndim() == 3, "rope: x {} is not [tokens, heads, head_dim]", x.str());
  const int64_t heads = x.dim(1), d = x.dim(2), half = d / 2;
  MACA_ASSERT(static_cast<int64_t>(inv_freq.size()) == half, "rope: {} frequencies for head_dim {}", inv_freq.size(),
              d);
  MACA_ASSERT(start.empty() || start.size() == seq_lens.size(), "rope: {} start positions for {} sequences",
              start.size(), seq_lens.size());
  // Positions [p_min, p_end) occur; one cos/sin table row each.
  int64_t p_min = 0, p_end = 0, total = 0;
  for (size_t s = 0; s < seq_lens.size(); ++s) {
    const int64_t first = start.empty() ? 0 : start[s];
    MACA_ASSERT(first >= 0, "rope: start position {} of sequence {}", first, s);
    p_min = s == 0 ? first : std::min(p_min, first);
    p_end = std::max(p_end, first + seq_lens[s]);
    total += seq_lens[s];
  }
  MACA_ASSERT(total == x.dim(0), "rope: seq_lens sum {} != tokens {}", total, x.dim(0));

  const int64_t span = std::max<int64_t>(p_end - p_min, 0);
  std::vector<float> cos_t(span * half), sin_t(span * half);
  for (int64_t p = 0; p < span; ++p)
    for (int64_t i = 0; i < half; ++i)
      shared::rope_cos_sin(shared::rope_angle(p_min + p, inv_freq[i]), cos_t[p * half + i], sin_t[p * half + i]);

  std::vector<int64_t> pos(total);  // table row of each token
  for (int64_t t = 0, s = 0; const int64_t n : seq_lens) {
    const int64_t first = start.empty() ? 0 : start[s++];
    for (int64_t p = 0; p < n; ++p) pos[t++] = first + p - p_min;
  }

  float* xp = x.data<float>();
#pragma omp parallel for schedule(static) if (total * heads * d > 32768)
  for (int64_t t = 0; t < total; ++t) {
    const float* c = cos_t.data() + pos[t] * half;
    const float* s = sin_t.data() + pos[t] * half;
    for (int64_t h = 0; h < heads; ++h) {
      float* v = xp + (t * heads + h) * d;
      for (int64_t i = 0; i < half; ++i) {
        const shared::FloatPair r = shared::rope_rotate(v[i], v[i + half], c[i], s[i]);
        v[i] = r.first;
        v[i + half] = r.second;
      }
    }
  }
}

}  // namespace maca::kernels::cpu
