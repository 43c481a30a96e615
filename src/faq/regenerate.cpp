#include "faq/regenerate.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backend/context.h"
#include "calib/calib_file.h"
#include "calib/sampler.h"
#include "calib/token_source.h"
#include "checkpoint/durable.h"
#include "checkpoint/fingerprint.h"
#include "config/search.h"
#include "core/error.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/splitmix.h"
#include "core/timer.h"
#include "dist/comm.h"
#include "dist/partition.h"
#include "faq/filters.h"
#include "faq/options.h"
#include "faq/packing.h"
#include "faq/selection.h"
#include "gen/options.h"
#include "io/model_source.h"
#include "model/model.h"

namespace maca::faq {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// One model with its tokenizer, opened without loading weights.
struct LoadedModel {
  LoadedModel(const std::string& name, backend::Context& ctx)
      : path(config::find_model(name)),
        source(io::open_model(path)),
        model(std::make_unique<model::Model>(*source, ctx)),
        tok(tokenizer::load_tokenizer(path)) {}
  fs::path path;
  std::unique_ptr<io::ModelSource> source;
  std::unique_ptr<model::Model> model;
  tokenizer::Tokenizer tok;
};

// A hash of the tokenizer's vocabulary: every id's text and special flag.
std::string tokenizer_digest(const tokenizer::Tokenizer& tok) {
  checkpoint::Fnv1a h;
  for (int32_t id = 0; id < tok.vocab_size(); ++id) {
    const std::string text = tok.decode(std::vector<int32_t>{id});
    h.update(text);
    h.update(tok.is_special(id) ? "\1" : "\0");
  }
  return h.hex();
}

struct Request {
  int64_t source, candidate;
  gen::GenerateRequest req;
};

struct Candidate {
  int64_t source = 0, candidate = 0;
  uint64_t seed = 0;
  gen::Generated out;
};

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

gen::StopReason parse_stop(const std::string& s, const fs::path& file) {
  for (const gen::StopReason r : {gen::StopReason::StopId, gen::StopReason::StopString, gen::StopReason::MaxTokens})
    if (s == gen::stop_reason_name(r)) return r;
  MACA_THROW(FileError, "{}: unknown stop reason '{}'", file.string(), s);
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
void open_run_dir(dist::Comm& comm, const fs::path& dir, const checkpoint::Fingerprint& fp) {
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

}  // namespace

int run_regenerate(const config::Config& cfg) {
  dist::Comm& comm = dist::world();
  const FaqOptions fo = read_options(cfg);
  const std::string dev = cfg.get_string("run.device");
  const auto ctx =
      backend::Context::create(dev == "auto" ? Device::cpu() : backend::parse_device(dev),
                               dist::threads_per_rank(static_cast<int>(cfg.get_int("run.threads")), comm.local_size()));

  // Target and teacher: same family and tokenizer unless forced.
  const LoadedModel target(cfg.get_string("model.path"), *ctx);
  const LoadedModel teacher(fo.teacher, *ctx);
  const model::ModelSpec& tspec = teacher.model->spec();
  const bool same_arch = tspec.arch == target.model->spec().arch;
  const bool same_tokenizer = tokenizer_digest(teacher.tok) == tokenizer_digest(target.tok);
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
  const calib::SamplerOptions so{.kind = "fixed",
                                 .n_samples = cfg.get_int("calib.n_samples"),
                                 .seq_len = cfg.get_int("calib.seq_len"),
                                 .seed = static_cast<uint64_t>(cfg.get_int("calib.seed"))};
  const fs::path data = config::find_data_file(cfg.get_string("calib.data"), cfg);
  const std::vector<int32_t> stream =
      calib::is_token_file(data)
          ? calib::read_token_file(data, static_cast<int32_t>(target.model->spec().vocab))
          : calib::load_calibration_tokens(data, io::parse_text_format(cfg.get_string("calib.format")), target.tok);
  const calib::CalibSet originals = calib::sample_calibration(stream, so);

  // Requests, seeded per (source, candidate).
  gen::GenerateOptions go = gen::read_generate_options(cfg, teacher.tok, tspec.vocab);
  const std::string gen_template = cfg.get_string("gen.template");
  const auto seed = static_cast<uint64_t>(cfg.get_int("gen.seed"));
  std::vector<std::string> prompt_texts;
  std::vector<Request> requests;
  for (size_t s = 0; s < originals.sequences.size(); ++s) {
    const auto& src = originals.sequences[s].tokens;
    const auto n = std::min<size_t>(src.size(), static_cast<size_t>(fo.source_tokens));
    const std::string sample = target.tok.decode(std::span<const int32_t>(src).first(n), true);
    prompt_texts.push_back(
        gen::apply_template(gen_template, apply_prompt(fo.prompt_template, sample, "faq.prompt"), "gen.template"));
    const std::vector<int32_t> prompt = teacher.tok.encode(prompt_texts.back(), true);
    const int64_t max_new =
        fo.max_new_tokens > 0 ? fo.max_new_tokens
                              : std::max<int64_t>(so.seq_len - static_cast<int64_t>(prompt.size()), fo.min_new_tokens);
    for (int64_t c = 0; c < fo.candidates; ++c) {
      const auto index = static_cast<uint64_t>(static_cast<int64_t>(s) * fo.candidates + c);
      requests.push_back({static_cast<int64_t>(s), c, {prompt, keyed_stream(seed, index).next(), max_new}});
    }
  }

  // Run directory and fingerprint: config, both models, the source tokens.
  const std::string dir = cfg.get_string("run.dir");
  const fs::path run_dir = dist::broadcast_string(
      comm, dir.empty() ? fmt::format("runs/faq-{:%Y%m%d-%H%M%S}",
                                      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()))
                        : dir);
  std::vector<fs::path> model_files = teacher.source->files();
  for (const fs::path& f : target.source->files()) model_files.push_back(f);
  std::vector<int32_t> source_tokens;
  for (const auto& s : originals.sequences) source_tokens.insert(source_tokens.end(), s.tokens.begin(), s.tokens.end());
  const std::vector<float> unit_weights(source_tokens.size(), 1.0f);
  const checkpoint::Fingerprint fp = checkpoint::make_fingerprint(
      cfg, model_files, checkpoint::hash_calibration(source_tokens, unit_weights), generation_key);
  open_run_dir(comm, run_dir, fp);

  // Generation: this rank's units that are not on disk yet.
  const auto n_units =
      static_cast<int64_t>((requests.size() + static_cast<size_t>(go.batch) - 1) / static_cast<size_t>(go.batch));
  std::vector<int64_t> pending;
  int64_t expected_tokens = 0, resumed = 0;
  for (int64_t u = comm.rank(); u < n_units; u += comm.size()) {
    if (fs::exists(unit_path(run_dir, u))) {
      ++resumed;
      continue;
    }
    pending.push_back(u);
    for (int64_t i = u * go.batch; i < std::min<int64_t>((u + 1) * go.batch, static_cast<int64_t>(requests.size()));
         ++i)
      expected_tokens += static_cast<int64_t>(requests[i].req.prompt.size()) + requests[i].req.max_new_tokens;
  }
  spdlog::info(
      "faq: {} sources x {} candidates = {} requests in {} units of {}; this rank: {} to generate, {} found "
      "finished in {}",
      originals.sequences.size(), fo.candidates, requests.size(), n_units, go.batch, pending.size(), resumed,
      run_dir.string());
  Timer gen_timer;
  if (!pending.empty()) {
    const gen::Generator generator(*teacher.model, *ctx, &teacher.tok);
    Progress progress("faq generate (prompt + new tokens, at most)", expected_tokens, "tokens", 30.0);
    for (const int64_t u : pending) {
      Timer unit_timer;
      const int64_t i0 = u * go.batch, i1 = std::min<int64_t>(i0 + go.batch, static_cast<int64_t>(requests.size()));
      std::vector<gen::GenerateRequest> reqs;
      for (int64_t i = i0; i < i1; ++i) reqs.push_back(requests[i].req);
      const auto outs = generator.generate(reqs, go, [&](int64_t tokens) { progress.advance(tokens); });
      std::vector<Candidate> cands;
      for (int64_t i = i0; i < i1; ++i)
        cands.push_back({requests[i].source, requests[i].candidate, requests[i].req.seed, outs[i - i0]});
      write_unit(unit_path(run_dir, u), cands, unit_timer.seconds());
    }
    progress.finish();
  }
  comm.barrier();
  if (comm.rank() != 0) {
    comm.barrier();
    return 0;
  }

  // Rank 0: every unit, in request order.
  std::vector<Candidate> cands;
  double gen_seconds = 0;
  int64_t new_tokens = 0;
  for (int64_t u = 0; u < n_units; ++u) {
    double s = 0;
    for (Candidate& c : read_unit(unit_path(run_dir, u), s)) {
      new_tokens += static_cast<int64_t>(c.out.tokens.size());
      cands.push_back(std::move(c));
    }
    gen_seconds += s;
  }
  MACA_CHECK(cands.size() == requests.size(),
             "{}: the unit files hold {} candidates, the job has {}; remove the "
             "run directory and rerun",
             run_dir.string(), cands.size(), requests.size());

  // Filters, then the target-format tokens of every passing candidate.
  const FilterOptions filt{fo.min_new_tokens, fo.repeat_ngram, fo.max_repeat, fo.drop_truncated};
  std::vector<Verdict> verdicts;
  std::vector<std::vector<int32_t>> target_tokens(cands.size());  // prompt (when kept) + answer
  std::vector<int64_t> answer_from(cands.size(), 0);
  std::vector<std::string> texts(cands.size());
  std::vector<calib::CalibSample> original_samples;
  for (const auto& s : originals.sequences)
    original_samples.push_back({s.tokens, target.tok.decode(s.tokens), 1.0, "original", -1, -1, 0, 0});
  for (size_t i = 0; i < cands.size(); ++i) {
    const Candidate& c = cands[i];
    std::span<const int32_t> content = c.out.tokens;
    if (c.out.reason == gen::StopReason::StopId) content = content.first(content.size() - 1);
    texts[i] = teacher.tok.decode(content, true);
    verdicts.push_back(judge(c.out, content, texts[i], filt));
    if (verdicts.back() != Verdict::Ok) continue;
    const std::string& prompt_text = prompt_texts[static_cast<size_t>(c.source)];
    std::vector<int32_t> answer =
        same_tokenizer ? c.out.tokens : target.tok.encode(teacher.tok.decode(c.out.tokens), false);
    std::vector<int32_t> seq =
        fo.keep_prompt || fo.score == Score::TargetNll ? target.tok.encode(prompt_text, true) : std::vector<int32_t>{};
    answer_from[i] = static_cast<int64_t>(seq.size());
    seq.insert(seq.end(), answer.begin(), answer.end());
    target_tokens[i] = std::move(seq);
  }

  // Expert scores.
  Timer score_timer;
  std::vector<double> scores(cands.size(), 0.0);
  if (fo.score == Score::TeacherNll) {
    for (size_t i = 0; i < cands.size(); ++i) {
      std::vector<double> nll;
      for (const double lp : cands[i].out.logprobs) nll.push_back(-lp);
      scores[i] = -trimmed_mean(nll, fo.score_trim);
    }
  } else if (fo.score == Score::TargetNll) {
    std::vector<std::vector<int32_t>> seqs;
    std::vector<int64_t> from;
    std::vector<size_t> which;
    for (size_t i = 0; i < cands.size(); ++i)
      if (verdicts[i] == Verdict::Ok && answer_from[i] >= 1 &&
          answer_from[i] < static_cast<int64_t>(target_tokens[i].size())) {
        seqs.push_back(target_tokens[i]);
        from.push_back(answer_from[i]);
        which.push_back(i);
      }
    spdlog::info("faq: scoring {} candidates under the target", seqs.size());
    const gen::Generator scorer(*target.model, *ctx);
    const auto nll = scorer.score(seqs, from);
    for (size_t k = 0; k < which.size(); ++k) scores[which[k]] = -trimmed_mean(nll[k], fo.score_trim);
  }
  if (!fo.keep_prompt && fo.score == Score::TargetNll)
    for (size_t i = 0; i < cands.size(); ++i)
      if (!target_tokens[i].empty()) {
        target_tokens[i].erase(target_tokens[i].begin(), target_tokens[i].begin() + answer_from[i]);
        answer_from[i] = 0;
      }

  // Group competition.
  std::vector<calib::CalibSample> winners;
  json groups = json::array();
  std::map<std::string, int64_t> verdict_counts;
  int64_t empty_groups = 0;
  for (size_t g0 = 0; g0 < cands.size(); g0 += static_cast<size_t>(fo.candidates)) {
    std::vector<Contender> group;
    for (int64_t c = 0; c < fo.candidates; ++c) group.push_back({verdicts[g0 + c] == Verdict::Ok, scores[g0 + c]});
    const GroupResult r = compete(group, fo.select, fo.score != Score::None);
    empty_groups += r.winners.empty();
    json members = json::array();
    for (int64_t c = 0; c < fo.candidates; ++c) {
      const size_t i = g0 + static_cast<size_t>(c);
      ++verdict_counts[verdict_name(verdicts[i])];
      const bool won = std::find(r.winners.begin(), r.winners.end(), c) != r.winners.end();
      members.push_back({{"candidate", c},
                         {"seed", cands[i].seed},
                         {"new_tokens", cands[i].out.tokens.size()},
                         {"stop", gen::stop_reason_name(cands[i].out.reason)},
                         {"filter", verdict_name(verdicts[i])},
                         {"repeat_ratio", repeat_ratio(cands[i].out.tokens, fo.repeat_ngram)},
                         {"score", scores[i]},
                         {"z", r.z[c]},
                         {"selected", won},
                         {"text", texts[i]}});
    }
    for (const int64_t c : r.winners) {
      const size_t i = g0 + static_cast<size_t>(c);
      winners.push_back({target_tokens[i], target.tok.decode(target_tokens[i]), 1.0, "regenerated", cands[i].source, c,
                         scores[i], r.z[c]});
    }
    groups.push_back({{"group", cands[g0].source}, {"source", cands[g0].source}, {"candidates", members}});
  }

  // Re-normalization and the file.
  const PackResult packed =
      pack({winners, original_samples, so.seq_len, fo.pack == Pack::Concat, fo.mix, fo.normalize});
  calib::CalibSetFile file;
  file.vocab = target.model->spec().vocab;
  file.seq_len = so.seq_len;
  file.samples = packed.samples;
  for (calib::CalibSample& s : file.samples)
    if (s.text.empty()) s.text = target.tok.decode(s.tokens);
  file.groups = groups;
  const checkpoint::Fingerprint teacher_fp = checkpoint::make_fingerprint(cfg, teacher.source->files(), "");
  json options = json::object();
  const checkpoint::Fingerprint recorded = checkpoint::make_fingerprint(cfg, {}, "", [](std::string_view k) {
    return k.starts_with("faq.") || k.starts_with("gen.") || k.starts_with("calib.") || k == "model.path";
  });
  for (const auto& [key, value] : recorded.parts.at("config").items) options[key] = value;
  file.provenance = {
      {"tool", "maca faq"},
      {"created", fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                              std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()))},
      {"target", {{"path", target.path.string()}, {"arch", model::arch_name(target.model->spec().arch)}}},
      {"teacher",
       {{"path", teacher.path.string()},
        {"arch", model::arch_name(tspec.arch)},
        {"files", teacher_fp.parts.at("model").items},
        {"same_tokenizer", same_tokenizer},
        {"forced", fo.force && (!same_arch || !same_tokenizer)}}},
      {"prompt", {{"name", fo.prompt_name}, {"text", fo.prompt_template}, {"chat_template", gen_template}}},
      {"sampling",
       {{"temperature", go.sampling.temperature},
        {"top_k", go.sampling.top_k},
        {"top_p", go.sampling.top_p},
        {"min_p", go.sampling.min_p},
        {"seed", seed},
        {"seeds", "splitmix(gen.seed, source * candidates + candidate)"},
        {"batch", go.batch}}},
      {"selection",
       {{"score", score_name(fo.score)},
        {"score_trim", fo.score_trim},
        {"candidates", fo.candidates},
        {"select", fo.select},
        {"filters", verdict_counts},
        {"groups_without_winner", empty_groups}}},
      {"packing",
       {{"pack", pack_name(fo.pack)},
        {"mix", fo.mix},
        {"normalize", fo.normalize ? "sequence" : "none"},
        {"keep_prompt", fo.keep_prompt},
        {"regenerated", packed.regenerated},
        {"original", packed.original},
        {"shortfall", packed.shortfall}}},
      {"source",
       {{"data", data.string()},
        {"n_samples", so.n_samples},
        {"seq_len", so.seq_len},
        {"seed", so.seed},
        {"source_tokens", fo.source_tokens}}},
      {"cost",
       {{"generation_s", gen_seconds},
        {"new_tokens", new_tokens},
        {"new_tokens_per_s", gen_seconds > 0 ? static_cast<double>(new_tokens) / gen_seconds : 0.0},
        {"scoring_s", score_timer.seconds()},
        {"wall_s_rank0", gen_timer.seconds()},
        {"ranks", comm.size()}}},
      {"config", options},
      {"fingerprint", checkpoint::digest(fp)}};
  const fs::path out = fo.out.empty() ? run_dir / "calib-set.json" : fs::path(fo.out);
  calib::write_calib_set_file(out, file);
  spdlog::info(
      "faq: {} candidates ({}), {} groups without a winner; {} sequences ({} regenerated, {} original{}); "
      "generation {} new tokens in {:.0f} s of rank time; wrote {}",
      cands.size(), json(verdict_counts).dump(), empty_groups, file.samples.size(), packed.regenerated, packed.original,
      packed.shortfall ? fmt::format(", {} of them filling a shortfall", packed.shortfall) : "", new_tokens,
      gen_seconds, out.string());
  spdlog::info("use it with: maca quantize --model {} --set calib.data={}", cfg.get_string("model.path"), out.string());
  comm.barrier();
  return 0;
}

}  // namespace maca::faq
