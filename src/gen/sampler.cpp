#include "gen/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/splitmix.h"

namespace maca::gen {
namespace {

int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
  return best;
}

}  // namespace

int32_t choose_token(std::span<const float> logits, const SamplingParams& p, uint64_t seed, int64_t step) {
  MACA_ASSERT(!logits.empty(), "choose_token: empty logits");
  if (p.temperature <= 0) return argmax(logits);

  // Candidates by logit descending, id ascending; with top-k only the first k
  // (and ties with the k-th) need sorting.
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  auto before = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  size_t kept = order.size();
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < order.size()) {
    const auto k = static_cast<size_t>(p.top_k);
    std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k - 1), order.end(), before);
    const float kth = logits[order[k - 1]];
    kept = static_cast<size_t>(std::partition(order.begin(), order.end(), [&](int32_t i) { return logits[i] >= kth; }) -
                               order.begin());
  }
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(kept), before);

  // Softmax of logits / T over the kept tokens.
  std::vector<double> prob(kept);
  const double mx = logits[order[0]] / p.temperature;
  double sum = 0;
  for (size_t i = 0; i < kept; ++i) sum += prob[i] = std::exp(logits[order[i]] / p.temperature - mx);
  for (double& x : prob) x /= sum;

  // top-p: keep a token while the mass strictly before it is below p.
  if (p.top_p < 1) {
    double before_mass = 0;
    size_t n = 0;
    while (n < kept && before_mass < p.top_p) before_mass += prob[n++];
    kept = std::max<size_t>(n, 1);
  }
  // min-p (a ratio to the most likely token, so renormalizing does not matter).
  if (p.min_p > 0) {
    size_t n = 1;
    while (n < kept && prob[n] >= p.min_p * prob[0]) ++n;
    kept = n;
  }

  double mass = 0;
  for (size_t i = 0; i < kept; ++i) mass += prob[i];
  const double u = keyed_stream(seed, static_cast<uint64_t>(step)).uniform() * mass;
  double acc = 0;
  for (size_t i = 0; i < kept; ++i) {
    acc += prob[i];
    if (u < acc) return order[i];
  }
  return order[kept - 1];
}

}  // namespace maca::gen
