#include "sweep/collect.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/log.h"

namespace maca::sweep {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<double> number_at(const json& j, const json::json_pointer& at) {
  if (!j.contains(at) || !j.at(at).is_number()) return std::nullopt;
  return j.at(at).get<double>();
}

Result read_result(const Sweep& sweep, const Point& p) {
  Result r;
  r.point = &p;
  const fs::path path = p.run_dir / "report.json";
  if (!fs::exists(path)) {
    r.status = fs::exists(failed_marker(sweep, p)) ? "failed" : "missing";
    return r;
  }
  try {
    std::ifstream in(path);
    const json report = json::parse(in);
    r.fp_ppl = number_at(report, "/eval/fp/ppl"_json_pointer);
    r.quantized_ppl = number_at(report, "/eval/quantized/ppl"_json_pointer);
    if (const auto total = number_at(report, "/stages/total_s"_json_pointer))
      r.quantize_s = *total - number_at(report, "/eval/fp/seconds"_json_pointer).value_or(0) -
                     number_at(report, "/eval/quantized/seconds"_json_pointer).value_or(0);
    if (const auto rss = number_at(report, "/peak_rss_bytes"_json_pointer)) r.peak_gib = *rss / (1 << 30);
    if (const auto cpu = "/provenance/cpu"_json_pointer; report.contains(cpu) && report.at(cpu).is_string())
      r.cpu = report.at(cpu).get<std::string>();
    r.status = "ok";
  } catch (const json::exception& e) {
    spdlog::warn("{}: unreadable report ({}); counted as failed", path.string(), e.what());
    r.status = "failed";
  }
  return r;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (const char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string full(const std::optional<double>& v) { return v ? fmt::format("{}", *v) : ""; }
std::string fixed(const std::optional<double>& v, int digits) { return v ? fmt::format("{:.{}f}", *v, digits) : "—"; }

double mean_of(const std::vector<double>& v) {
  double mean = 0;
  for (const double x : v) mean += x / static_cast<double>(v.size());
  return mean;
}

std::string mean_text(const std::vector<double>& v, int digits) {
  return v.empty() ? "—" : fmt::format("{:.{}f}", mean_of(v), digits);
}

// "mean ± sd" over values (sample sd); the value itself when there is one.
std::string mean_sd(const std::vector<double>& v, int digits) {
  if (v.size() < 2) return mean_text(v, digits);
  const double mean = mean_of(v);
  double ss = 0;
  for (const double x : v) ss += (x - mean) * (x - mean);
  return fmt::format("{:.{}f} ± {:.{}f}", mean, digits, std::sqrt(ss / static_cast<double>(v.size() - 1)), digits);
}

struct Settings {
  std::string model, label;
  std::int64_t bits, group, seed;
};

Settings settings(const Point& p) {
  return {p.config.get_string("model.path"), p.label, p.config.get_int("quant.bits"),
          p.config.get_int("quant.group_size"), p.config.get_int("calib.seed")};
}

void write_csv(const fs::path& path, const std::vector<Result>& results) {
  std::ofstream f(path);
  f << "point,name,label,method,bits,group_size,seed,model,fp_ppl,quantized_ppl,quantize_s,peak_rss_gib,status,"
       "cpu,run_dir\n";
  for (const Result& r : results) {
    const Point& p = *r.point;
    const Settings s = settings(p);
    f << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", p.index, csv_field(p.name), csv_field(s.label),
                     p.config.get_string("quant.method"), s.bits, s.group, s.seed, csv_field(s.model), full(r.fp_ppl),
                     full(r.quantized_ppl), full(r.quantize_s), full(r.peak_gib), r.status,
                     csv_field(r.cpu), csv_field(p.run_dir.string()));
  }
  if (!f) MACA_THROW(FileError, "cannot write '{}'", path.string());
}

void write_markdown(const Sweep& sweep, const fs::path& path, const std::vector<Result>& results) {
  std::map<std::string, int> counts;
  for (const Result& r : results) ++counts[r.status];
  std::string md = fmt::format(
      "# Sweep {}\n\nSweep file `{}`, base config `{}`: {} points, {} ok, {} failed, {} missing.\n\n"
      "Quantized PPL: mean ± sd over the points that are ok (n; the seeds); fp PPL, quantize time: mean; peak "
      "memory: max. Quantize time is a run's wall time without its evaluations (calibration, block loop, export); "
      "peak memory is the process's peak RSS.\n\n",
      sweep.name, sweep.file.string(), sweep.base.string(), results.size(), counts["ok"], counts["failed"],
      counts["missing"]);
  std::map<std::string, int> cpus;  // numbers are reproducible per CPU: say where each came from
  for (const Result& r : results)
    if (r.status == "ok") ++cpus[r.cpu.empty() ? "not recorded" : r.cpu];
  if (!cpus.empty()) {
    md += "CPU of the points that are ok:";
    for (const auto& [cpu, n] : cpus) md += fmt::format(" {} ({} points);", cpu, n);
    md.back() = '.';
    md += "\n\n";
  }

  // (model, label, bits, group) in order of first appearance.
  std::vector<std::pair<Settings, std::vector<const Result*>>> groups;
  for (const Result& r : results) {
    const Settings s = settings(*r.point);
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& e) {
      return e.first.model == s.model && e.first.label == s.label && e.first.bits == s.bits && e.first.group == s.group;
    });
    if (g == groups.end()) g = groups.insert(groups.end(), {s, {}});
    if (r.status == "ok") g->second.push_back(&r);
  }
  md +=
      "| model | label | bits | group | n | fp PPL | quantized PPL | quantize time (s) | peak memory (GiB) |\n"
      "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& [s, ok] : groups) {
    std::vector<double> fp, q, time;
    double peak = 0;
    for (const Result* r : ok) {
      if (r->fp_ppl) fp.push_back(*r->fp_ppl);
      if (r->quantized_ppl) q.push_back(*r->quantized_ppl);
      if (r->quantize_s) time.push_back(*r->quantize_s);
      peak = std::max(peak, r->peak_gib.value_or(0));
    }
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", s.model, s.label, s.bits, s.group, ok.size(),
                      mean_text(fp, 3), mean_sd(q, 3), mean_text(time, 1),
                      ok.empty() ? "—" : fmt::format("{:.2f}", peak));
  }

  md +=
      "\n## Points\n\n"
      "| # | name | label | method | bits | group | seed | model | fp PPL | quantized PPL | quantize time (s) | "
      "peak memory (GiB) | status |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Result& r : results) {
    const Point& p = *r.point;
    const Settings s = settings(p);
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", p.index, p.name, s.label,
                      p.config.get_string("quant.method"), s.bits, s.group, s.seed, s.model, fixed(r.fp_ppl, 3),
                      fixed(r.quantized_ppl, 3), fixed(r.quantize_s, 1), fixed(r.peak_gib, 2), r.status);
  }
  std::ofstream f(path);
  f << md;
  if (!f) MACA_THROW(FileError, "cannot write '{}'", path.string());
}

}  // namespace

std::vector<Result> read_results(const Sweep& sweep) {
  std::vector<Result> results;
  for (const Point& p : sweep.points) results.push_back(read_result(sweep, p));
  return results;
}

std::vector<fs::path> write_results(const Sweep& sweep, const std::vector<Result>& results) {
  fs::create_directories(sweep.out);
  const fs::path csv = sweep.out / "results.csv", md = sweep.out / "results.md";
  write_csv(csv, results);
  write_markdown(sweep, md, results);
  return {csv, md};
}

}  // namespace maca::sweep
