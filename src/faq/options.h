// faq.*: FAQ calibration regeneration (algorithms.md §5), every [choice] a
// key with its default, recorded in the calibration-set file's provenance.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.h"
#include "config/schema.h"

namespace maca::faq {

enum class Score { TeacherNll, TargetNll, ActivationDistance, None };
enum class Pack { Concat, Truncate };

struct FaqOptions {
  std::string teacher;              // faq.teacher (model name or path)
  bool force = false;               // faq.force: allow another family / tokenizer
  std::string prompt_name;          // faq.prompt: builtin template name or "custom"
  std::string prompt_template;      // the template text, with {sample}
  int64_t source_tokens = 256;      // faq.source_tokens
  int64_t candidates = 4;           // faq.candidates (K, a group)
  int64_t select = 1;               // faq.select (m winners per group)
  Score score = Score::TeacherNll;  // faq.score
  double score_trim = 0.1;          // faq.score_trim
  int64_t max_new_tokens = 0;       // faq.max_new_tokens (0: reach calib.seq_len)
  int64_t min_new_tokens = 64;      // faq.min_new_tokens (too short below)
  int64_t repeat_ngram = 4;         // faq.repeat_ngram
  double max_repeat = 0.5;          // faq.max_repeat
  bool drop_truncated = false;      // faq.drop_truncated
  bool keep_prompt = true;          // faq.keep_prompt
  Pack pack = Pack::Concat;         // faq.pack
  double mix = 0.0;                 // faq.mix
  bool normalize = false;           // faq.normalize == sequence
  std::string out;                  // faq.out
};

void declare_options(config::Schema& schema);
FaqOptions read_options(const config::Config& cfg);
const char* score_name(Score s);
const char* pack_name(Pack p);

// The builtin prompt templates, by versioned name; each has one {sample}.
// Throws ConfigError for an unknown name (listing the known ones).
const std::string& builtin_prompt(const std::string& name);

// `tmpl` with {sample} replaced by `sample`; ConfigError naming `key` when
// the template has no {sample}.
std::string apply_prompt(const std::string& tmpl, const std::string& sample, const std::string& key);

}  // namespace maca::faq
