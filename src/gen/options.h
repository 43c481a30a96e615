// gen.*: how text is generated (`maca generate`, and the teacher of
// `maca calib regenerate`): the prompt template, sampling, stop conditions,
// batching. Declared here, next to the code that uses them.
#pragma once

#include <string>

#include "config/config.h"
#include "config/schema.h"
#include "gen/generator.h"
#include "tokenizer/tokenizer.h"

namespace maca::gen {

void declare_options(config::Schema& schema);

// The GenerateOptions gen.* describes; stop ids are the tokenizer's EOS (when
// gen.stop_at_eos) plus gen.stop_ids, each checked against its vocabulary.
GenerateOptions read_generate_options(const config::Config& cfg, const tokenizer::Tokenizer& tok, int64_t vocab);

// `tmpl` with every `mark` replaced by `value`. Throws ConfigError naming
// `key` (and `what` the mark stands for) when the template has no `mark`.
std::string fill_placeholder(const std::string& tmpl, const std::string& mark, const std::string& value,
                             const std::string& key, const std::string& what);

// gen.template with every "{prompt}" replaced by `prompt`.
std::string apply_template(const std::string& tmpl, const std::string& prompt, const std::string& key);

}  // namespace maca::gen
