#include "faq/options.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "core/error.h"
#include "gen/options.h"

namespace maca::faq {
namespace {

// Versioned: a template's text never changes under its name; a new wording is
// a new name, so a calibration set's provenance names exactly what was asked.
const std::map<std::string, std::string>& builtin_prompts() {
  static const std::map<std::string, std::string> prompts = {
      {"elaborate-v1",
       "Here is the beginning of a text:\n\n{sample}\n\nContinue this text in the same style and on the same topic. "
       "Wherever it states a fact, makes a claim or takes a step, explain the reasoning behind it step by step."},
      {"continue-v1", "Continue the following text in the same style and on the same topic:\n\n{sample}"},
  };
  return prompts;
}

}  // namespace

const std::string& builtin_prompt(const std::string& name) {
  const auto& p = builtin_prompts();
  const auto it = p.find(name);
  if (it == p.end()) {
    std::vector<std::string> names;
    for (const auto& [k, v] : p) names.push_back(k);
    MACA_THROW(ConfigError, "faq.prompt: '{}' is not a builtin prompt ({}) nor 'custom' (with faq.prompt_text)", name,
               fmt::join(names, ", "));
  }
  return it->second;
}

std::string apply_prompt(const std::string& tmpl, const std::string& sample, const std::string& key) {
  return gen::fill_placeholder(tmpl, "{sample}", sample, key, "the source text");
}

const char* score_name(Score s) {
  switch (s) {
    case Score::TeacherNll:
      return "teacher_nll";
    case Score::TargetNll:
      return "target_nll";
    case Score::ActivationDistance:
      return "activation_distance";
    case Score::None:
      return "none";
  }
  return "?";
}

const char* pack_name(Pack p) { return p == Pack::Concat ? "concat" : "truncate"; }

void declare_options(config::Schema& s) {
  s.add({"faq.teacher", std::string("qwen2.5-coder-1.5b"),
         "the model that regenerates the calibration samples: a larger model of the target's (model.path) family "
         "with the same tokenizer; the target itself gives self-calibration"});
  s.add({"faq.force", false,
         "accept a teacher of another architecture or with another tokenizer (its text is then re-tokenized with the "
         "target's tokenizer)"});
  s.add({"faq.prompt", std::string("elaborate-v1"),
         "the versioned prompt asking the teacher to continue a source sample with step-by-step reasoning: "
         "elaborate-v1, continue-v1 (no reasoning: the no-CoT ablation), or custom (faq.prompt_text); put through "
         "gen.template for the chat markers",
         config::one_of({"elaborate-v1", "continue-v1", "custom"})});
  s.add({"faq.prompt_text", std::string(""),
         "with faq.prompt=custom: the prompt, with {sample} where the source text goes"});
  s.add({"faq.source_tokens", std::int64_t{256}, "tokens of each source sample (its beginning) shown to the teacher",
         config::in_range(1, 1 << 20)});
  s.add({"faq.candidates", std::int64_t{4}, "candidates generated per source sample (a group competing for selection)",
         config::in_range(1, 1024)});
  s.add({"faq.select", std::int64_t{1}, "winners kept per group (the best by z-normalized score)",
         config::in_range(1, 1024)});
  s.add({"faq.score", std::string("teacher_nll"),
         "expert score of a candidate: teacher_nll (mean NLL of its tokens under the teacher, from generation), "
         "target_nll (under the full-precision target), activation_distance (minus the mean squared log ratio of "
         "the per-channel RMS of the target's last hidden states over the answer to that over the original "
         "samples: how in-distribution the text is for the target), none (no selection: the first candidates that "
         "pass the filters)",
         config::one_of({"teacher_nll", "target_nll", "activation_distance", "none"})});
  s.add({"faq.score_trim", 0.1, "fraction of a candidate's token NLLs dropped at each end before the mean (outliers)",
         config::in_range(0, 0.45)});
  s.add({"faq.max_new_tokens", std::int64_t{0},
         "new tokens per candidate at most; 0: enough for the conversation to reach calib.seq_len",
         config::at_least(0)});
  s.add({"faq.min_new_tokens", std::int64_t{64}, "filter: candidates with fewer new tokens are dropped (too short)",
         config::at_least(0)});
  s.add({"faq.repeat_ngram", std::int64_t{4}, "filter: n of the n-grams the repetition check counts",
         config::in_range(1, 64)});
  s.add({"faq.max_repeat", 0.5,
         "filter: candidates whose share of repeated n-grams (1 - distinct/total) exceeds this are dropped "
         "(repetition loops)",
         config::in_range(0, 1)});
  s.add({"faq.drop_truncated", false,
         "filter: drop candidates that stopped at the token limit instead of ending (EOS / stop string)"});
  s.add({"faq.keep_prompt", true,
         "calibration sequences hold the whole conversation (prompt with the source text, then the answer) in the "
         "target's format; false: the answer only"});
  s.add({"faq.pack", std::string("concat"),
         "re-normalization: concat (winners joined and cut into calib.n_samples sequences of calib.seq_len tokens: "
         "the same token budget as the original set) or truncate (one sequence per winner, cut at calib.seq_len)",
         config::one_of({"concat", "truncate"})});
  s.add({"faq.mix", 0.0, "fraction of the final sequences taken from the original calibration set",
         config::in_range(0, 1)});
  s.add({"faq.normalize", std::string("none"),
         "per-sample weights: none (all 1) or sequence (each sequence weighted by mean length / its length, so every "
         "sample contributes equally to the Hessian, MaCa's per-sample normalization)",
         config::one_of({"none", "sequence"})});
  s.add({"faq.out", std::string(""), "the calibration-set file to write; empty: <run.dir>/calib-set.json"});
}

FaqOptions read_options(const config::Config& cfg) {
  FaqOptions o;
  o.teacher = cfg.get_string("faq.teacher");
  o.force = cfg.get_bool("faq.force");
  o.prompt_name = cfg.get_string("faq.prompt");
  o.prompt_template = o.prompt_name == "custom" ? cfg.get_string("faq.prompt_text") : builtin_prompt(o.prompt_name);
  apply_prompt(o.prompt_template, "", o.prompt_name == "custom" ? "faq.prompt_text" : "faq.prompt");
  o.source_tokens = cfg.get_int("faq.source_tokens");
  o.candidates = cfg.get_int("faq.candidates");
  o.select = cfg.get_int("faq.select");
  if (o.select > o.candidates)
    MACA_THROW(ConfigError, "faq.select: {} winners per group, but a group has only faq.candidates = {}", o.select,
               o.candidates);
  const std::string score = cfg.get_string("faq.score");
  o.score = score == "teacher_nll"           ? Score::TeacherNll
            : score == "target_nll"          ? Score::TargetNll
            : score == "activation_distance" ? Score::ActivationDistance
                                             : Score::None;
  o.score_trim = cfg.get_float("faq.score_trim");
  o.max_new_tokens = cfg.get_int("faq.max_new_tokens");
  o.min_new_tokens = cfg.get_int("faq.min_new_tokens");
  o.repeat_ngram = cfg.get_int("faq.repeat_ngram");
  o.max_repeat = cfg.get_float("faq.max_repeat");
  o.drop_truncated = cfg.get_bool("faq.drop_truncated");
  o.keep_prompt = cfg.get_bool("faq.keep_prompt");
  o.pack = cfg.get_string("faq.pack") == "concat" ? Pack::Concat : Pack::Truncate;
  o.mix = cfg.get_float("faq.mix");
  o.normalize = cfg.get_string("faq.normalize") == "sequence";
  o.out = cfg.get_string("faq.out");
  return o;
}

}  // namespace maca::faq
