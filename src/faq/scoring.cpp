#include "faq/scoring.h"

#include <cmath>

#include "core/log.h"
#include "faq/selection.h"
#include "gen/generator.h"

namespace maca::faq {

std::vector<double> teacher_scores(std::span<const std::vector<double>> logprobs, const std::vector<bool>& passed,
                                   double trim) {
  std::vector<double> scores(logprobs.size(), 0.0);
  for (size_t i = 0; i < logprobs.size(); ++i) {
    if (!passed[i]) continue;
    std::vector<double> nll;
    for (const double lp : logprobs[i]) nll.push_back(-lp);
    scores[i] = -trimmed_mean(nll, trim);
  }
  return scores;
}

std::vector<double> target_scores(const model::Model& target, backend::Context& ctx, Score score,
                                  std::span<const std::vector<int32_t>> seqs, std::span<const int64_t> answer_from,
                                  const std::vector<bool>& passed, std::span<const std::vector<int32_t>> originals,
                                  double trim) {
  std::vector<std::vector<int32_t>> batch;
  std::vector<int64_t> from;
  std::vector<size_t> which;
  for (size_t i = 0; i < seqs.size(); ++i)
    if (passed[i]) {
      batch.push_back(seqs[i]);
      from.push_back(answer_from[i]);
      which.push_back(i);
    }
  spdlog::info("faq: scoring {} candidates under the target ({})", batch.size(), score_name(score));
  const gen::Generator scorer(target, ctx);
  const auto scored = scorer.score(batch, from);
  std::vector<double> scores(seqs.size(), 0.0);
  if (score == Score::TargetNll) {
    for (size_t k = 0; k < which.size(); ++k) scores[which[k]] = -trimmed_mean(scored[k].nll, trim);
    return scores;
  }
  // The reference profile: every original sample's tokens (from position 1),
  // each sample's mean square weighted by its token count.
  const auto ref_scored = scorer.score(originals, std::vector<int64_t>(originals.size(), 1));
  std::vector<double> ref(static_cast<size_t>(target.spec().hidden), 0.0);
  double count = 0;
  for (size_t k = 0; k < originals.size(); ++k) {
    const auto n = static_cast<double>(originals[k].size() - 1);
    for (size_t c = 0; c < ref.size(); ++c) ref[c] += n * ref_scored[k].channel_rms[c] * ref_scored[k].channel_rms[c];
    count += n;
  }
  for (double& r : ref) r = std::sqrt(r / count);
  for (size_t k = 0; k < which.size(); ++k) scores[which[k]] = activation_score(scored[k].channel_rms, ref);
  return scores;
}

}  // namespace maca::faq
