// FAQ's expert scores (algorithms.md §5.6), higher is better; 0 for the
// candidates that did not pass the filters.
//  teacher_nll:         −trimmed mean of −log p of each generated token under
//                       the teacher (recorded during generation, untempered).
//  target_nll:          the same under the full-precision target, teacher-
//                       forced on the conversation in the target's tokens.
//  activation_distance: activation_score() of the per-channel RMS of the
//                       target's last hidden states over the answer against
//                       that over the original calibration samples.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/context.h"
#include "faq/options.h"
#include "model/model.h"

namespace maca::faq {

std::vector<double> teacher_scores(std::span<const std::vector<double>> logprobs, const std::vector<bool>& passed,
                                   double trim);

// `seqs`: each candidate's target tokens, scored from answer_from[i] (the
// answer's first token; > 0 and < size for every passing candidate).
std::vector<double> target_scores(const model::Model& target, backend::Context& ctx, Score score,
                                  std::span<const std::vector<int32_t>> seqs, std::span<const int64_t> answer_from,
                                  const std::vector<bool>& passed, std::span<const std::vector<int32_t>> originals,
                                  double trim);

}  // namespace maca::faq
