#include "faq/job.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "calib/token_source.h"
#include "checkpoint/durable.h"
#include "config/search.h"
#include "core/error.h"
#include "core/log.h"
#include "core/splitmix.h"
#include "gen/options.h"

namespace maca::faq {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A hash of the tokenizer's vocabulary: every id's text and special flag.
std::string tokenizer_digest(const tokenizer::Tokenizer& tok) {
  checkpoint::Fnv1a h;
  for (int32_t id = 0; id < tok.vocab_size(); ++id) {
    h.update(tok.decode(std::vector<int32_t>{id}));
    h.update(tok.is_special(id) ? "\1" : "\0");
  }
  return h.hex();
}

// The keys that change what the teacher generates (the units on disk);
// filters, scores, selection and packing are not among them, so a rerun with
// other selection settings re-assembles the same candidates.
bool generation_key(std::string_view key) {
  if (key.starts_with("calib.") || key == "model.path") return true;
  if (key.starts_with("gen.")) return key != "gen.prompt" && key != "gen.samples";
  for (const std::string_view k : {"faq.teacher", "faq.force", "faq.prompt", "faq.prompt_text", "faq.source_tokens",
                                   "faq.candidates", "faq.max_new_tokens", "faq.min_new_tokens"})
    if (key == k) return true;
  return false;
}

// Refuses a run directory made by another job; writes the fingerprint of a new one.
void open_run_dir(parallel::Comm& comm, const fs::path& dir, const checkpoint::Fingerprint& fp) {
  if (comm.rank() == 0) {
    fs::create_directories(dir / "units");
    if (const auto stored = checkpoint::read_fingerprint(dir)) {
      const auto diff = checkpoint::differences(*stored, fp);
      if (!diff.empty())
        MACA_THROW(ConfigError,
                   "run.dir '{}' holds the candidates of another regeneration job (selection and "
                   "packing settings may change, generation settings may not); choose another run.dir "
                   "or remove it. Differences: {}",
                   dir.string(), fmt::join(diff, "; "));
    } else {
      checkpoint::write_fingerprint(dir, fp);
    }
  }
  comm.barrier();
}

gen::StopReason parse_stop(const std::string& s, const fs::path& file) {
  for (const gen::StopReason r : {gen::StopReason::StopId, gen::StopReason::StopString, gen::StopReason::MaxTokens})
    if (s == gen::stop_reason_name(r)) return r;
  MACA_THROW(FileError, "{}: unknown stop reason '{}'", file.string(), s);
}

}  // namespace

LoadedModel::LoadedModel(const std::string& name, backend::Context& ctx)
    : path(config::find_model(name)),
      source(io::open_model(path)),
      model(std::make_unique<model::Model>(*source, ctx)),
      tok(tokenizer::load_tokenizer(path)) {}

Job::Job(const config::Config& cfg, backend::Context& ctx, parallel::Comm& comm)
    : fo(read_options(cfg)), target(cfg.get_string("model.path"), ctx), teacher(fo.teacher, ctx) {
  // Target and teacher: same family and tokenizer unless forced.
  const model::ModelSpec& tspec = teacher.model->spec();
  same_arch = tspec.arch == target.model->spec().arch;
  const std::string target_vocab = tokenizer_digest(target.tok);
  same_tokenizer = tokenizer_digest(teacher.tok) == target_vocab;
  if ((!same_arch || !same_tokenizer) && !fo.force)
    MACA_THROW(ConfigError,
               "faq.teacher: {} ({}) is not of the target's family: {}. FAQ expects a larger model of the same family "
               "with the same tokenizer; set faq.force=true to use it anyway (its text is then re-tokenized for the "
               "target)",
               teacher.path.string(), model::arch_name(tspec.arch),
               !same_arch ? fmt::format("architecture {} vs the target's {}", model::arch_name(tspec.arch),
                                        model::arch_name(target.model->spec().arch))
                          : std::string("its tokenizer differs from the target's"));
  spdlog::info("faq: target {}, teacher {} ({} layers, hidden {}){}", target.path.string(), teacher.path.string(),
               tspec.n_layers, tspec.hidden, same_tokenizer ? ", same tokenizer" : ", re-tokenizing (forced)");

  // Sources: the original calibration set (the baseline's, same budget).
  source_options = {.kind = "fixed",
                    .n_samples = cfg.get_int("calib.n_samples"),
                    .seq_len = cfg.get_int("calib.seq_len"),
                    .seed = static_cast<uint64_t>(cfg.get_int("calib.seed"))};
  source_data = config::find_data_file(cfg.get_string("calib.data"), cfg);
  const std::vector<int32_t> stream =
      calib::is_token_file(source_data)
          ? calib::read_token_file(source_data, static_cast<int32_t>(target.model->spec().vocab))
          : calib::load_calibration_tokens(source_data, io::parse_text_format(cfg.get_string("calib.format")),
                                           target.tok);
  originals = calib::sample_calibration(stream, source_options);

  // Requests, seeded per (source, candidate).
  go = gen::read_generate_options(cfg, teacher.tok, tspec.vocab);
  gen_template = cfg.get_string("gen.template");
  seed = static_cast<uint64_t>(cfg.get_int("gen.seed"));
  for (size_t s = 0; s < originals.sequences.size(); ++s) {
    const auto& src = originals.sequences[s].tokens;
    const auto n = std::min<size_t>(src.size(), static_cast<size_t>(fo.source_tokens));
    const std::string sample = target.tok.decode(std::span<const int32_t>(src).first(n), true);
    prompt_texts.push_back(
        gen::apply_template(gen_template, apply_prompt(fo.prompt_template, sample, "faq.prompt"), "gen.template"));
    const std::vector<int32_t> prompt = teacher.tok.encode(prompt_texts.back(), true);
    const int64_t max_new =
        fo.max_new_tokens > 0
            ? fo.max_new_tokens
            : std::max<int64_t>(source_options.seq_len - static_cast<int64_t>(prompt.size()), fo.min_new_tokens);
    for (int64_t c = 0; c < fo.candidates; ++c) {
      const auto index = static_cast<uint64_t>(static_cast<int64_t>(s) * fo.candidates + c);
      requests.push_back({static_cast<int64_t>(s), c, {prompt, keyed_stream(seed, index).next(), max_new}});
    }
  }

  // Run directory and fingerprint of what changes generation: the config keys,
  // the teacher's files, the source tokens and the target's vocabulary (it
  // decodes the sources into the prompts). The target's weights do not
  // change what the teacher generates, and hashing both models' files into
  // one part would let same-named files (two HF directories'
  // model.safetensors) hide each other.
  const std::string dir = cfg.get_string("run.dir");
  run_dir = parallel::broadcast_string(
      comm, dir.empty() ? fmt::format("runs/faq-{:%Y%m%d-%H%M%S}",
                                      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()))
                        : dir);
  std::vector<int32_t> source_tokens;
  for (const auto& s : originals.sequences) source_tokens.insert(source_tokens.end(), s.tokens.begin(), s.tokens.end());
  const std::vector<float> unit_weights(source_tokens.size(), 1.0f);
  fingerprint = checkpoint::make_fingerprint(
      cfg, teacher.source->files(),
      checkpoint::hash_calibration(source_tokens, unit_weights) + " target vocabulary " + target_vocab, generation_key);
  const checkpoint::Fingerprint recorded = checkpoint::make_fingerprint(cfg, {}, "", [](std::string_view k) {
    return k.starts_with("faq.") || k.starts_with("gen.") || k.starts_with("calib.") || k == "model.path";
  });
  settings = recorded.parts.at("config").items;
  teacher_files = fingerprint.parts.at("model").items;
  open_run_dir(comm, run_dir, fingerprint);
}

int64_t Job::units() const {
  return static_cast<int64_t>((requests.size() + static_cast<size_t>(go.batch) - 1) / static_cast<size_t>(go.batch));
}

std::span<const Request> Job::unit_requests(int64_t u) const {
  const auto i0 = static_cast<size_t>(u * go.batch);
  return std::span<const Request>(requests).subspan(i0, std::min(requests.size() - i0, static_cast<size_t>(go.batch)));
}

fs::path unit_path(const fs::path& run_dir, int64_t u) {
  return run_dir / "units" / fmt::format("unit-{:05d}.json", u);
}

void write_unit(const fs::path& path, std::span<const Candidate> cands, double seconds) {
  json items = json::array();
  for (const Candidate& c : cands)
    items.push_back({{"source", c.source},
                     {"candidate", c.candidate},
                     {"seed", c.seed},
                     {"stop", gen::stop_reason_name(c.out.reason)},
                     {"tokens", c.out.tokens},
                     {"logprobs", c.out.logprobs}});
  checkpoint::write_text_durably(path, json{{"seconds", seconds}, {"candidates", items}}.dump() + "\n");
}

std::vector<Candidate> read_unit(const fs::path& path, double& seconds) {
  std::ifstream in(path);
  try {
    const json j = json::parse(in);
    seconds = j.at("seconds").get<double>();
    std::vector<Candidate> out;
    for (const json& c : j.at("candidates")) {
      Candidate cand{c.at("source").get<int64_t>(), c.at("candidate").get<int64_t>(), c.at("seed").get<uint64_t>(), {}};
      cand.out.tokens = c.at("tokens").get<std::vector<int32_t>>();
      cand.out.logprobs = c.at("logprobs").get<std::vector<double>>();
      cand.out.reason = parse_stop(c.at("stop").get<std::string>(), path);
      out.push_back(std::move(cand));
    }
    return out;
  } catch (const json::exception& e) {
    MACA_THROW(FileError, "{}: damaged unit file ({}); delete it and rerun to regenerate that unit", path.string(),
               e.what());
  }
}

}  // namespace maca::faq
