#include "faq/regenerate.h"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "backend/context.h"
#include "core/error.h"
#include "core/log.h"
#include "core/stop_request.h"
#include "core/timer.h"
#include "parallel/comm.h"
#include "parallel/device_comm.h"
#include "parallel/partition.h"
#include "faq/assemble.h"
#include "faq/job.h"

namespace maca::faq {
namespace {

namespace fs = std::filesystem;

// This rank's units (u ≡ rank mod P) that are not on disk yet, generated
// and saved one by one, with progress in tokens/s and an ETA. Returns false
// when a stop was requested (SIGUSR1/SIGTERM) before all were done.
bool generate_units(const Job& job, backend::Context& ctx, parallel::Comm& comm) {
  std::vector<int64_t> pending;
  int64_t expected_tokens = 0, found = 0;
  for (int64_t u = comm.rank(); u < job.units(); u += comm.size()) {
    if (fs::exists(unit_path(job.run_dir, u))) {
      ++found;
      continue;
    }
    pending.push_back(u);
    for (const Request& r : job.unit_requests(u))
      expected_tokens += static_cast<int64_t>(r.req.prompt.size()) + r.req.max_new_tokens;
  }
  spdlog::info(
      "faq: {} sources x {} candidates = {} requests in {} units of {}; this rank: {} to generate, {} found "
      "finished in {}",
      job.originals.sequences.size(), job.fo.candidates, job.requests.size(), job.units(), job.go.batch, pending.size(),
      found, job.run_dir.string());
  if (pending.empty()) return true;
  const gen::Generator generator(*job.teacher.model, ctx, &job.teacher.tok);
  Progress progress("faq generate (prompt + new tokens, at most)", expected_tokens, "tokens", 30.0);
  for (const int64_t u : pending) {
    Timer unit_timer;
    const std::span<const Request> unit = job.unit_requests(u);
    std::vector<gen::GenerateRequest> reqs;
    for (const Request& r : unit) reqs.push_back(r.req);
    const auto outs = generator.generate(reqs, job.go, [&](int64_t tokens) { progress.advance(tokens); });
    std::vector<Candidate> cands;
    for (size_t i = 0; i < unit.size(); ++i)
      cands.push_back({unit[i].source, unit[i].candidate, unit[i].req.seed, outs[i]});
    write_unit(unit_path(job.run_dir, u), cands, unit_timer.seconds());
    if (stop_requested() && u != pending.back()) return false;
  }
  progress.finish();
  return true;
}

}  // namespace

int run_regenerate(const config::Config& cfg) {
  parallel::Comm& comm = parallel::world();
  const auto ctx =
      backend::Context::create(parallel::rank_device(backend::job_device(cfg.get_string("run.device"), "faq"), comm),
                               parallel::threads_per_rank(static_cast<int>(cfg.get_int("run.threads")), comm.local_size()));
  install_stop_handlers();
  const Job job(cfg, *ctx, comm);
  Timer wall;
  const bool complete = generate_units(job, *ctx, comm);
  if (comm.allreduce_max(complete ? 0 : 1) != 0)
    MACA_THROW(Stopped, "stopped on request with finished units saved in {}; rerun the same command to continue",
               job.run_dir.string());
  if (comm.rank() == 0) {
    std::vector<Candidate> cands;
    GenerationCost cost{.ranks = comm.size()};
    for (int64_t u = 0; u < job.units(); ++u) {
      double s = 0;
      for (Candidate& c : read_unit(unit_path(job.run_dir, u), s)) {
        cost.new_tokens += static_cast<int64_t>(c.out.tokens.size());
        cands.push_back(std::move(c));
      }
      cost.seconds += s;
    }
    MACA_CHECK(cands.size() == job.requests.size(),
               "{}: the unit files hold {} candidates, the job has {}; remove the run directory and rerun",
               job.run_dir.string(), cands.size(), job.requests.size());
    cost.wall_s = wall.seconds();
    const calib::CalibSetFile file = assemble(job, cands, *ctx, cost);
    const fs::path out = job.fo.out.empty() ? job.run_dir / "calib-set.json" : fs::path(job.fo.out);
    calib::write_calib_set_file(out, file);
    const nlohmann::json& p = file.provenance;
    spdlog::info(
        "faq: {} candidates ({}), {} groups without a winner; {} sequences ({} regenerated, {} original, "
        "shortfall {}); generation {} new tokens in {:.0f} s of rank time; wrote {}",
        cands.size(), p["selection"]["filters"].dump(), p["selection"]["groups_without_winner"].dump(),
        file.samples.size(), p["packing"]["regenerated"].dump(), p["packing"]["original"].dump(),
        p["packing"]["shortfall"].dump(), cost.new_tokens, cost.seconds, out.string());
    spdlog::info("use it with: maca quantize --model {} --set calib.data={}", cfg.get_string("model.path"),
                 out.string());
  }
  comm.barrier();
  return 0;
}

}  // namespace maca::faq
