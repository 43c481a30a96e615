#include "faq/assemble.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>

#include "core/timer.h"
#include "faq/filters.h"
#include "faq/packing.h"
#include "faq/scoring.h"
#include "faq/selection.h"

namespace maca::faq {

using nlohmann::json;

calib::CalibSetFile assemble(const Job& job, const std::vector<Candidate>& cands, backend::Context& ctx,
                             const GenerationCost& cost) {
  // Filters, then the target-format tokens of every passing candidate.
  const FilterOptions filt{job.fo.min_new_tokens, job.fo.repeat_ngram, job.fo.max_repeat, job.fo.drop_truncated};
  std::vector<Verdict> verdicts;
  std::vector<std::vector<int32_t>> target_tokens(cands.size());  // prompt (when kept) + answer
  std::vector<int64_t> answer_from(cands.size(), 0);
  std::vector<std::string> texts(cands.size());
  const bool target_scored = job.fo.score == Score::TargetNll || job.fo.score == Score::ActivationDistance;
  std::vector<calib::CalibSample> original_samples;
  for (const auto& s : job.originals.sequences)
    original_samples.push_back({s.tokens, job.target.tok.decode(s.tokens), 1.0, "original", -1, -1, 0, 0});
  for (size_t i = 0; i < cands.size(); ++i) {
    const Candidate& c = cands[i];
    std::span<const int32_t> content = c.out.tokens;
    if (c.out.reason == gen::StopReason::StopId) content = content.first(content.size() - 1);
    texts[i] = job.teacher.tok.decode(content, true);
    verdicts.push_back(judge(c.out, content, texts[i], filt));
    if (verdicts.back() != Verdict::Ok) continue;
    const std::string& prompt_text = job.prompt_texts[static_cast<size_t>(c.source)];
    std::vector<int32_t> answer =
        job.same_tokenizer ? c.out.tokens : job.target.tok.encode(job.teacher.tok.decode(c.out.tokens), false);
    std::vector<int32_t> seq =
        job.fo.keep_prompt || target_scored ? job.target.tok.encode(prompt_text, true) : std::vector<int32_t>{};
    answer_from[i] = static_cast<int64_t>(seq.size());
    seq.insert(seq.end(), answer.begin(), answer.end());
    target_tokens[i] = std::move(seq);
  }

  // Expert scores.
  Timer score_timer;
  std::vector<bool> passed;
  std::vector<std::vector<double>> logprobs;
  for (size_t i = 0; i < cands.size(); ++i) {
    passed.push_back(verdicts[i] == Verdict::Ok);
    logprobs.push_back(cands[i].out.logprobs);
  }
  std::vector<double> scores(cands.size(), 0.0);
  if (job.fo.score == Score::TeacherNll) {
    scores = teacher_scores(logprobs, passed, job.fo.score_trim);
  } else if (target_scored) {
    std::vector<std::vector<int32_t>> orig;
    for (const auto& o : job.originals.sequences) orig.push_back(o.tokens);
    scores = target_scores(*job.target.model, ctx, job.fo.score, target_tokens, answer_from, passed, orig,
                           job.fo.score_trim);
    if (!job.fo.keep_prompt)
      for (size_t i = 0; i < cands.size(); ++i)
        if (!target_tokens[i].empty())
          target_tokens[i].erase(target_tokens[i].begin(), target_tokens[i].begin() + answer_from[i]);
  }

  // Group competition.
  std::vector<calib::CalibSample> winners;
  json groups = json::array();
  std::map<std::string, int64_t> verdict_counts;
  int64_t empty_groups = 0;
  for (size_t g0 = 0; g0 < cands.size(); g0 += static_cast<size_t>(job.fo.candidates)) {
    std::vector<Contender> group;
    for (int64_t c = 0; c < job.fo.candidates; ++c) group.push_back({verdicts[g0 + c] == Verdict::Ok, scores[g0 + c]});
    const GroupResult r = compete(group, job.fo.select, job.fo.score != Score::None);
    empty_groups += r.winners.empty();
    json members = json::array();
    for (int64_t c = 0; c < job.fo.candidates; ++c) {
      const size_t i = g0 + static_cast<size_t>(c);
      ++verdict_counts[verdict_name(verdicts[i])];
      const bool won = std::find(r.winners.begin(), r.winners.end(), c) != r.winners.end();
      members.push_back({{"candidate", c},
                         {"seed", cands[i].seed},
                         {"new_tokens", cands[i].out.tokens.size()},
                         {"stop", gen::stop_reason_name(cands[i].out.reason)},
                         {"filter", verdict_name(verdicts[i])},
                         {"repeat_ratio", repeat_ratio(cands[i].out.tokens, job.fo.repeat_ngram)},
                         {"score", scores[i]},
                         {"z", r.z[c]},
                         {"selected", won},
                         {"text", texts[i]}});
    }
    for (const int64_t c : r.winners) {
      const size_t i = g0 + static_cast<size_t>(c);
      winners.push_back({target_tokens[i], job.target.tok.decode(target_tokens[i]), 1.0, "regenerated", cands[i].source,
                         c, scores[i], r.z[c]});
    }
    groups.push_back({{"group", cands[g0].source}, {"source", cands[g0].source}, {"candidates", members}});
  }

  // Re-normalization and the file.
  const PackResult packed = pack({winners, original_samples, job.source_options.seq_len, job.fo.pack == Pack::Concat,
                                  job.fo.mix, job.fo.normalize});
  calib::CalibSetFile file;
  file.vocab = job.target.model->spec().vocab;
  file.seq_len = job.source_options.seq_len;
  file.samples = packed.samples;
  for (calib::CalibSample& s : file.samples)
    if (s.text.empty()) s.text = job.target.tok.decode(s.tokens);
  file.groups = groups;
  file.provenance = {
      {"tool", "maca faq"},
      {"created", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                              std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()))},
      {"target", {{"path", job.target.path.string()}, {"arch", model::arch_name(job.target.model->spec().arch)}}},
      {"teacher",
       {{"path", job.teacher.path.string()},
        {"arch", model::arch_name(job.teacher.model->spec().arch)},
        {"files", job.teacher_files},
        {"same_tokenizer", job.same_tokenizer},
        {"forced", job.fo.force && (!job.same_arch || !job.same_tokenizer)}}},
      {"prompt", {{"name", job.fo.prompt_name}, {"text", job.fo.prompt_template}, {"chat_template", job.gen_template}}},
      {"sampling",
       {{"temperature", job.go.sampling.temperature},
        {"top_k", job.go.sampling.top_k},
        {"top_p", job.go.sampling.top_p},
        {"min_p", job.go.sampling.min_p},
        {"seed", job.seed},
        {"seeds", "splitmix(gen.seed, source * candidates + candidate)"},
        {"batch", job.go.batch}}},
      {"selection",
       {{"score", score_name(job.fo.score)},
        {"score_trim", job.fo.score_trim},
        {"candidates", job.fo.candidates},
        {"select", job.fo.select},
        {"filters", verdict_counts},
        {"groups_without_winner", empty_groups}}},
      {"packing",
       {{"pack", pack_name(job.fo.pack)},
        {"mix", job.fo.mix},
        {"normalize", job.fo.normalize ? "sequence" : "none"},
        {"keep_prompt", job.fo.keep_prompt},
        {"regenerated", packed.regenerated},
        {"original", packed.original},
        {"shortfall", packed.shortfall}}},
      {"source",
       {{"data", job.source_data.string()},
        {"n_samples", job.source_options.n_samples},
        {"seq_len", job.source_options.seq_len},
        {"seed", job.source_options.seed},
        {"source_tokens", job.fo.source_tokens}}},
      {"cost",
       {{"generation_s", cost.seconds},
        {"new_tokens", cost.new_tokens},
        {"new_tokens_per_s", cost.seconds > 0 ? static_cast<double>(cost.new_tokens) / cost.seconds : 0.0},
        {"scoring_s", score_timer.seconds()},
        {"wall_s_rank0", cost.wall_s},
        {"ranks", cost.ranks}}},
      {"config", job.settings},
      {"fingerprint", checkpoint::digest(job.fingerprint)}};
  return file;
}

}  // namespace maca::faq
