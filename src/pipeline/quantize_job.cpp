#include "pipeline/quantize_job.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "backend/context.h"
#include "calib/calib_file.h"
#include "calib/sampler.h"
#include "calib/summary.h"
#include "calib/token_source.h"
#include "config/config.h"
#include "config/search.h"
#include "core/error.h"
#include "core/host_info.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/timer.h"
#include "parallel/comm.h"
#include "parallel/device_comm.h"
#include "parallel/partition.h"
#include "eval/perplexity.h"
#include "io/model_source.h"
#include "pipeline/calib_batches.h"
#include "pipeline/export_run.h"
#include "pipeline/job_options.h"
#include "pipeline/run_checkpoint.h"
#include "core/stop_request.h"
#include "tokenizer/tokenizer.h"

namespace maca::pipeline {
namespace {

using nlohmann::json;

double gib(int64_t bytes) { return static_cast<double>(bytes) / (1 << 30); }

// Writes `text` to `path` through a temporary name, so a crash leaves either
// the old file or the new one.
void write_atomic(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.close();
    if (!out)
      MACA_THROW(FileError, "cannot write '{}'; check that the run directory is writable and has space",
                 tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) MACA_THROW(FileError, "cannot rename '{}' to '{}': {}", tmp.string(), path.string(), ec.message());
}

void create_run_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) MACA_THROW(FileError, "cannot create run directory '{}': {}", dir.string(), ec.message());
}

// The fingerprint's view of the calibration set: every token and row weight.
std::string calibration_hash(const calib::CalibSet& set) {
  std::vector<int32_t> tokens;
  std::vector<float> weights;
  for (size_t s = 0; s < set.sequences.size(); ++s) {
    const auto& seq = set.sequences[s].tokens;
    tokens.insert(tokens.end(), seq.begin(), seq.end());
    for (int64_t t = 0; t < static_cast<int64_t>(seq.size()); ++t)
      weights.push_back(static_cast<float>(set.row_weight(s, t)));
  }
  return checkpoint::hash_calibration(tokens, weights);
}

json layer_json(const LayerRecord& r) {
  json j = {{"name", r.name}, {"rows", r.rows},       {"cols", r.cols},  {"skipped", r.skipped},
            {"loss", r.loss}, {"damp", r.damp},       {"alpha", r.alpha}, {"seconds", r.seconds}};
  if (!r.alpha_source.empty()) j["alpha_source"] = r.alpha_source;
  if (r.alpha_star) j["alpha_star"] = *r.alpha_star;
  return j;
}

// The α* each layer type got in this block (from the records, so that a
// block read back from the checkpoint gives the same as a rounded one).
std::map<std::string, double> alpha_star_by_type(const json& layer_records, int b) {
  std::map<std::string, double> out;
  const std::string prefix = fmt::format("model.layers.{}.", b);
  for (const json& r : layer_records)
    if (r.contains("alpha_star") && r["name"].get<std::string>().starts_with(prefix))
      out[r["name"].get<std::string>().substr(prefix.size())] = r["alpha_star"].get<double>();
  return out;
}

json ppl_json(const eval::PerplexityResult& r) {
  return {{"ppl", r.ppl},          {"mean_nll", r.mean_nll}, {"windows", r.windows},
          {"predicted_tokens", r.predicted_tokens}, {"seconds", r.seconds}};
}

// Perplexity of the model at `model_path` with the job's eval.* settings.
eval::PerplexityResult evaluate(const config::Config& cfg, const std::string& model_path, const char* what) {
  config::Config c = cfg;
  c.set("model.path", model_path, what);
  c.set("run.dir", "", what);
  spdlog::info("evaluating the {} model", what);
  return eval::run_perplexity(c);
}

// Rank count, traffic, every rank's peak RSS (which counts the pages of
// node-shared memory a rank touched, though the node holds them once) and
// the largest node-shared copy (a collective call).
json distribution_json(parallel::Comm& comm, const std::string& partition, int64_t node_shared_bytes) {
  const int64_t rss = peak_rss_bytes();
  const auto* p = reinterpret_cast<const uint8_t*>(&rss);
  json per_rank = json::array();
  for (const auto& bytes : comm.allgather(std::span<const uint8_t>(p, sizeof rss))) {
    int64_t v = 0;
    std::memcpy(&v, bytes.data(), sizeof v);
    per_rank.push_back(v);
  }
  const parallel::CommStats& st = comm.stats();
  return {{"ranks", comm.size()}, {"backend", comm.name()}, {"partition", partition},
          {"peak_rss_bytes_per_rank", per_rank}, {"allreduce_bytes", st.allreduce_bytes},
          {"allreduce_s", st.allreduce_s}, {"reduce_bytes_rank0", st.reduce_bytes}, {"reduce_s_rank0", st.reduce_s},
          {"allgather_bytes_rank0", st.allgather_bytes},
          {"allgather_s_rank0", st.allgather_s}, {"node_shared_bytes_max", node_shared_bytes}};
}

// Writes the checkpoint's rounded layers into the block and moves every
// batch's streams through it, exactly as quantize_block left them: the
// quantized stream through the rounded block, the full-precision one through
// the block as loaded.
void advance_through(const model::Model& model, int b, model::BlockWeights& w,
                     const checkpoint::BlockCheckpoint& block, std::vector<CalibBatch>& batches) {
  const bool any_fp = std::any_of(batches.begin(), batches.end(), [](const CalibBatch& c) { return c.fp.defined(); });
  const model::BlockWeights original = any_fp ? clone_linears(model.context(), w) : model::BlockWeights{};
  for (const BlockLayer& slot : block_layers(w, b)) {
    const auto it = std::find_if(block.layers.begin(), block.layers.end(),
                                 [&](const auto& l) { return l.first == slot.name; });
    if (it == block.layers.end()) continue;  // kept in full precision
    MACA_CHECK(it->second.rows == slot.weight->dim(0) && it->second.cols == slot.weight->dim(1),
               "checkpoint block {}: layer {} is {}x{}, the model's is {}x{}", b, slot.name, it->second.rows,
               it->second.cols, slot.weight->dim(0), slot.weight->dim(1));
    write_weights(model.context(), *slot.weight, it->second.dequantize());
  }
  forward_streams(model, b, w, original, batches);
}

checkpoint::BlockCheckpoint to_checkpoint(int b, const BlockStats& st, std::map<std::string, QuantizedLinear> layers) {
  checkpoint::BlockCheckpoint ck;
  ck.block = b;
  json records = json::array();
  double loss = 0;
  for (const LayerRecord& r : st.layers) {
    records.push_back(layer_json(r));
    loss += r.loss;
    if (r.skipped) {
      ck.skipped.push_back(r.name);
    } else {
      auto node = layers.extract(r.name);
      MACA_ASSERT(!node.empty(), "block {}: layer {} was rounded but not returned", b, r.name);
      ck.layers.emplace_back(r.name, std::move(node.mapped()));
    }
  }
  ck.stats = {{"block", {{"block", b}, {"forward_s", st.forward_s}, {"hessian_s", st.hessian_s},
                         {"round_s", st.round_s}, {"comm_s", st.comm_s}, {"loss", loss}}},
              {"layers", records}};
  return ck;
}

// Test hook: MACA_FAULT_RANK_THROW="<rank>:<block>" makes that rank fail when
// it reaches that block, to check that one failing rank ends the whole job.
void fail_if_injected(int rank, int b) {
  const char* spec = std::getenv("MACA_FAULT_RANK_THROW");
  if (spec != nullptr && fmt::format("{}:{}", rank, b) == spec)
    MACA_THROW(Error, "injected failure on rank {} at block {} (MACA_FAULT_RANK_THROW)", rank, b);
}

}  // namespace

std::filesystem::path run_quantize(const config::Config& requested) {
  Timer total;
  json stages = json::object();
  parallel::Comm& comm = parallel::world();
  const Device device =
      parallel::rank_device(backend::job_device(requested.get_string("run.device"), "quantize"), comm);
  const int threads = parallel::threads_per_rank(static_cast<int>(requested.get_int("run.threads")), comm.local_size());
  const auto ctx = backend::Context::create(device, threads);
  // The forward, the statistics and the rounding all run on `device`.

  // Everything that can be checked is checked before any work.
  const auto model_path = config::find_model(requested.get_string("model.path"));
  const auto source = io::open_model(model_path);
  const model::Model model(*source, *ctx);
  const config::Config cfg = resolve_for_model(requested, model.spec(), model_path.filename().string());
  JobOptions opt = read_job_options(cfg, model.spec());
  opt.block.comm = &comm;
  const auto device_comm = parallel::make_device_comm(comm, *ctx);
  opt.block.device_comm = device_comm.get();
  opt.run_dir = parallel::broadcast_string(comm, opt.run_dir.string());
  install_stop_handlers();
  const quant::Method& method = *opt.block.method;
  const quant::Needs needs = method.needs();
  spdlog::info("quantize {} ({} blocks) with {} {}-bit group {} {} into {}", model_path.string(),
               model.spec().n_layers, method.name(), method.grid().bits, method.grid().group_size,
               method.grid().sym ? "sym" : "asym", opt.run_dir.string());

  // Calibration set (RTN needs none).
  Timer t;
  calib::CalibSet set;
  json calib_json = nullptr;
  if (!opt.calib_data.empty() && calib::is_calib_set_file(opt.calib_data)) {
    const calib::CalibSetFile file = calib::read_calib_set_file(opt.calib_data, model.spec().vocab);
    set = file.to_calib_set();
    const calib::CalibSummary summary = calib::summarize(set);
    spdlog::info("calibration: {} from the calibration-set file {} (used as it is: calib.n_samples and calib.seq_len "
                 "do not apply)", calib::to_string(summary), opt.calib_data.string());
    calib_json = {{"data", opt.calib_data.string()},
                  {"format", fmt::format("{} v{}", calib::kCalibSetFormat, calib::kCalibSetVersion)},
                  {"sequences", summary.sequences},
                  {"tokens", summary.tokens},
                  {"summary", calib::to_string(summary)},
                  {"provenance", file.provenance}};
  } else if (!opt.calib_data.empty()) {
    const std::vector<int32_t> stream =
        calib::is_token_file(opt.calib_data)
            ? calib::read_token_file(opt.calib_data, static_cast<int32_t>(model.spec().vocab))
            : calib::load_calibration_tokens(opt.calib_data, io::parse_text_format(opt.calib_format),
                                             tokenizer::load_tokenizer(model_path));
    set = calib::sample_calibration(stream, opt.sampler);
    const calib::CalibSummary summary = calib::summarize(set);
    spdlog::info("calibration: {} from {} ({} tokens)", calib::to_string(summary), opt.calib_data.string(),
                 stream.size());
    calib_json = {{"data", opt.calib_data.string()}, {"stream_tokens", stream.size()},
                  {"sequences", summary.sequences},  {"tokens", summary.tokens},
                  {"head_mass_fraction", summary.head_mass_fraction}, {"summary", calib::to_string(summary)}};
  }

  checkpoint::Fingerprint fingerprint = checkpoint::make_fingerprint(cfg, source->files(), calibration_hash(set));
  set = local_shard(set, comm.rank(), comm.size());
  if (comm.size() > 1)
    spdlog::info("{} ranks; rank 0 forwards {} sequences, {} tokens", comm.size(), set.sequences.size(),
                 set.total_tokens());
  std::function<double(int64_t)> seq_alpha;
  if (needs.sample_alpha) seq_alpha = [&](int64_t index) { return method.sequence_alpha(index); };
  int64_t longest = 0;
  for (const auto& s : set.sequences) longest = std::max(longest, static_cast<int64_t>(s.tokens.size()));
  const int64_t hidden = model.spec().hidden;
  // Every rank takes the same form when any rank is past the limit (bf16 must
  // not depend on which rank forwards a sequence).
  const bool exceeds =
      comm.allreduce_max(streams_exceed(set.total_tokens(), hidden, needs.cross, opt.max_resident_gb) ? 1 : 0) != 0;
  StreamPlan plan = plan_streams(longest, hidden, needs.cross, opt.batch_tokens, opt.max_resident_gb, opt.overflow,
                                 exceeds);

  // The run directory: resume what a killed run left when it is the same job,
  // refuse when it is not (before anything there changes). The streams' form
  // is part of the job: bf16 changes the result, spilling does not.
  checkpoint::add_config_item(fingerprint, "calibration streams between blocks",
                              plan.form == StreamForm::Bf16 ? "bf16" : "f32");
  if (comm.rank() == 0) create_run_dir(opt.run_dir);
  RunCheckpoint ck = RunCheckpoint::open(opt.run_dir, fingerprint, opt.resume, comm);
  if (comm.rank() == 0) write_atomic(opt.run_dir / "config.resolved.yaml", cfg.to_yaml());
  if (plan.form == StreamForm::Spill) plan.spill = open_spill_file(opt.run_dir, comm.rank());
  if (plan.form != StreamForm::F32)
    spdlog::info("calibration streams: {:.3g} GiB in f32 on rank 0, past calib.max_resident_gb = {:g}: batches of up "
                 "to {} tokens, waiting between blocks as {}", gib(stream_bytes(set.total_tokens(), hidden, needs.cross)),
                 opt.max_resident_gb, plan.batch_tokens, stream_form_name(plan.form));
  std::vector<CalibBatch> batches = make_calib_batches(model, set, plan, needs.cross, seq_alpha);
  model.release_embedding();  // every calibration token is embedded; the blocks never read the table
  stages["calibration_s"] = t.seconds();
  if (!batches.empty())
    spdlog::info("calibration activations: {} batch(es), {:.2f} GiB", batches.size(), gib(activation_bytes(batches)));

  // The block loop: finished blocks come from the checkpoint (their rounded
  // weights advance the activations), the others are quantized and committed.
  json layer_records = json::array(), block_records = json::array();
  Progress progress("quantize", model.spec().n_layers - ck.finished(), "blocks");
  double forward_s = 0, hessian_s = 0, round_s = 0, load_s = 0, comm_s = 0, checkpoint_s = 0;
  int64_t node_shared_bytes = 0;
  const int resumed = ck.finished();
  for (int b = 0; b < model.spec().n_layers; ++b) {
    Timer load;
    model::BlockWeights w = model.load_block(b);
    load_s += load.seconds();
    checkpoint::BlockCheckpoint block;
    if (b < resumed) {
      Timer replay;
      block = ck.load(b);
      advance_through(model, b, w, block, batches);
      spdlog::info("block {}/{}: from the checkpoint, activations advanced in {}", b + 1, model.spec().n_layers,
                   format_duration(replay.seconds()));
    } else {
      fail_if_injected(comm.rank(), b);
      std::map<std::string, QuantizedLinear> layers;
      const BlockStats st = quantize_block(model, b, w, batches, opt.block, layers);
      block = to_checkpoint(b, st, std::move(layers));
      Timer save;
      ck.commit(block, comm);
      checkpoint_s += save.seconds();
      forward_s += st.forward_s;
      hessian_s += st.hessian_s;
      round_s += st.round_s;
      comm_s += st.comm_s;
      node_shared_bytes = std::max(node_shared_bytes, st.node_shared_bytes);
      spdlog::info("block {}/{}: loss {:.4g} | forward {} hessian {} round {}{} checkpoint {} | peak RSS {:.2f} GiB",
                   b + 1, model.spec().n_layers, block.stats["block"]["loss"].get<double>(),
                   format_duration(st.forward_s), format_duration(st.hessian_s), format_duration(st.round_s),
                   comm.size() > 1 ? " comm " + format_duration(st.comm_s) : "", format_duration(save.seconds()),
                   gib(peak_rss_bytes()));
      progress.advance();
    }
    for (const auto& r : block.stats["layers"]) layer_records.push_back(r);
    opt.block.previous_alpha_star = alpha_star_by_type(block.stats["layers"], b);
    block_records.push_back(block.stats["block"]);
    if (b + 1 < model.spec().n_layers && b >= resumed && comm.allreduce_max(stop_requested() ? 1 : 0) != 0)
      MACA_THROW(Stopped, "stopped on request after block {} of {} was checkpointed; rerun the same command to "
                 "resume at block {}", b + 1, model.spec().n_layers, b + 2);
  }
  progress.finish();
  batches.clear();
  stages["load_s"] = load_s;
  stages["forward_s"] = forward_s;
  stages["hessian_s"] = hessian_s;
  stages["round_s"] = round_s;
  stages["comm_s"] = comm_s;
  stages["checkpoint_s"] = checkpoint_s;
  stages["resumed_blocks"] = resumed;

  // Outputs, from the checkpoint alone (as `maca export` does).
  t.reset();
  json outputs = json::object();
  if (comm.rank() == 0) outputs = export_run(cfg, *source, ck, static_cast<int>(model.spec().n_layers), opt.run_dir);
  comm.barrier();  // the other ranks evaluate what rank 0 wrote
  stages["export_s"] = t.seconds();

  // Evaluation.
  json eval_json = json::object();
  if (opt.eval_fp) eval_json["fp"] = ppl_json(evaluate(cfg, model_path.string(), "full-precision"));
  if (opt.eval_quantized)
    eval_json["quantized"] = ppl_json(evaluate(cfg, (opt.run_dir / "fake_quant").string(), "quantized"));
  if (opt.eval_fp && opt.eval_quantized) {
    const double fp = eval_json["fp"]["ppl"], q = eval_json["quantized"]["ppl"];
    spdlog::info("WikiText-2 perplexity: full precision {:.4f}, quantized {:.4f} ({:+.2f} %)", fp, q,
                 100.0 * (q / fp - 1.0));
  }

  char host[256] = {};
  gethostname(host, sizeof host - 1);
  stages["total_s"] = total.seconds();
  const json distributed = distribution_json(comm, cfg.get_string("run.partition"), node_shared_bytes);
  const json report = {
      {"maca_version", MACA_VERSION},
      {"config", cfg.to_yaml()},
      {"provenance",
       {{"model", model_path.string()}, {"model_files", [&] {
          json files = json::array();
          for (const auto& f : source->files())
            files.push_back({{"path", f.string()}, {"bytes", std::filesystem::file_size(f)}});
          return files;
        }()}, {"calibration", calib_json}, {"host", host}, {"cpu", cpu_model_name()}, {"device", device.str()}}},
      {"method", method.name()},
      {"bits", method.grid().bits},
      {"group_size", method.grid().group_size},
      {"sym", method.grid().sym},
      {"stages", stages},
      {"distributed", distributed},
      {"blocks", block_records},
      {"layers", layer_records},
      {"outputs", outputs},
      {"eval", eval_json},
      {"peak_rss_bytes", peak_rss_bytes()}};
  if (comm.rank() == 0) write_atomic(opt.run_dir / "report.json", report.dump(2) + "\n");
  spdlog::info("done in {}, peak RSS {:.2f} GiB; report: {}", format_duration(total.seconds()),
               gib(peak_rss_bytes()), (opt.run_dir / "report.json").string());
  return opt.run_dir;
}

}  // namespace maca::pipeline
