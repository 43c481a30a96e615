#include "gen/options.h"

#include <fmt/format.h>

#include "core/error.h"

namespace maca::gen {

void declare_options(config::Schema& s) {
  s.add({"gen.prompt", std::string(""), "maca generate: the prompt text (put through gen.template)"});
  s.add({"gen.template", std::string("{prompt}"),
         "the text the model sees, with {prompt} replaced by the prompt: put the model's chat markers here "
         "(`maca inspect MODEL` prints the GGUF's chat_template to copy them from), e.g. for Qwen2.5 "
         "\"<|im_start|>user\\n{prompt}<|im_end|>\\n<|im_start|>assistant\\n\"; the default continues the raw text"});
  s.add({"gen.samples", std::int64_t{1}, "maca generate: samples per prompt (seeds gen.seed, gen.seed + 1, ...)",
         config::in_range(1, 1 << 20)});
  s.add({"gen.max_new_tokens", std::int64_t{256}, "new tokens per sequence at most", config::in_range(1, 1 << 20)});
  s.add({"gen.temperature", 0.6, "sampling temperature; 0: greedy (argmax)", config::in_range(0, 100)});
  s.add({"gen.top_k", std::int64_t{20}, "keep the k most likely tokens (ties with the k-th kept); 0: off",
         config::at_least(0)});
  s.add({"gen.top_p", 0.95, "keep the most likely tokens until their probability mass reaches p; 1: off",
         config::in_range(0, 1)});
  s.add({"gen.min_p", 0.0, "drop tokens less likely than min_p times the most likely one; 0: off",
         config::in_range(0, 1)});
  s.add({"gen.seed", std::int64_t{0}, "sampling seed; a sequence's draws depend on its seed and step only",
         config::at_least(0)});
  s.add({"gen.stop_at_eos", true, "stop a sequence at the tokenizer's EOS token"});
  s.add({"gen.stop_ids", config::IntList{}, "further token ids that stop a sequence (e.g. an end-of-turn id)"});
  s.add({"gen.stop", config::StringList{}, "strings that stop a sequence once its text contains them (kept)"});
  s.add({"gen.batch", std::int64_t{8},
         "sequences decoded together (one GEMM per layer per step); outputs depend on the batch, never on threads "
         "or ranks",
         config::in_range(1, 4096)});
  s.add({"gen.prefill_chunk", std::int64_t{256}, "prompt tokens per sequence per step while prefilling",
         config::in_range(1, 1 << 20)});
}

GenerateOptions read_generate_options(const config::Config& cfg, const tokenizer::Tokenizer& tok, int64_t vocab) {
  GenerateOptions o;
  o.max_new_tokens = cfg.get_int("gen.max_new_tokens");
  o.sampling = {.temperature = cfg.get_float("gen.temperature"),
                .top_k = cfg.get_int("gen.top_k"),
                .top_p = cfg.get_float("gen.top_p"),
                .min_p = cfg.get_float("gen.min_p")};
  if (cfg.get_bool("gen.stop_at_eos") && tok.eos_id()) o.stop_ids.push_back(*tok.eos_id());
  for (const int64_t id : cfg.get_int_list("gen.stop_ids")) {
    if (id < 0 || id >= vocab) MACA_THROW(ConfigError, "gen.stop_ids: {} is outside the vocabulary [0, {})", id, vocab);
    o.stop_ids.push_back(static_cast<int32_t>(id));
  }
  o.stop_strings = cfg.get_string_list("gen.stop");
  o.batch = cfg.get_int("gen.batch");
  o.prefill_chunk = cfg.get_int("gen.prefill_chunk");
  return o;
}

std::string fill_placeholder(const std::string& tmpl, const std::string& mark, const std::string& value,
                             const std::string& key, const std::string& what) {
  if (tmpl.find(mark) == std::string::npos)
    MACA_THROW(ConfigError, "{}: the template has no {} to put {} in: '{}'", key, mark, what, tmpl);
  std::string out;
  size_t at = 0;
  for (size_t hit; (hit = tmpl.find(mark, at)) != std::string::npos; at = hit + mark.size())
    out += tmpl.substr(at, hit - at) + value;
  return out + tmpl.substr(at);
}

std::string apply_template(const std::string& tmpl, const std::string& prompt, const std::string& key) {
  return fill_placeholder(tmpl, "{prompt}", prompt, key, "the text");
}

}  // namespace maca::gen
