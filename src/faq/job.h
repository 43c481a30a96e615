// A `maca faq` job as every rank prepares it (faq/regenerate.h has the
// whole flow): the two models, the original calibration set, the requests
// with their seeds, the run directory with its fingerprint; and the unit
// files the generation leaves there (one per gen.batch requests).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "backend/context.h"
#include "calib/calib_set.h"
#include "calib/sampler.h"
#include "checkpoint/fingerprint.h"
#include "config/config.h"
#include "parallel/comm.h"
#include "faq/options.h"
#include "gen/generator.h"
#include "io/model_source.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace maca::faq {

// One model with its tokenizer, opened without loading weights.
struct LoadedModel {
  LoadedModel(const std::string& name, backend::Context& ctx);
  std::filesystem::path path;
  std::unique_ptr<io::ModelSource> source;
  std::unique_ptr<model::Model> model;
  tokenizer::Tokenizer tok;
};

struct Request {
  int64_t source, candidate;
  gen::GenerateRequest req;
};

struct Candidate {
  int64_t source = 0, candidate = 0;
  uint64_t seed = 0;
  gen::Generated out;
};

// Building the job opens both models and checks the family (ConfigError
// unless faq.force), samples the sources, formats the prompts, seeds the
// requests, agrees on the run directory over `comm` and opens it (refusing
// one made by a job that generates differently).
struct Job {
  Job(const config::Config& cfg, backend::Context& ctx, parallel::Comm& comm);
  FaqOptions fo;
  LoadedModel target, teacher;
  bool same_arch = true, same_tokenizer = true;
  calib::SamplerOptions source_options;
  std::filesystem::path source_data;
  calib::CalibSet originals;
  gen::GenerateOptions go;
  std::string gen_template;
  uint64_t seed = 0;
  std::vector<std::string> prompt_texts;  // per source: the formatted prompt
  std::vector<Request> requests;          // source-major
  std::filesystem::path run_dir;
  checkpoint::Fingerprint fingerprint;  // of what changes the generation (teacher files, sources, target vocabulary)
  nlohmann::json settings;              // every faq.*/gen.*/calib.* value and model.path, for the provenance
  nlohmann::json teacher_files;         // file name -> "<size> <hash of the first and last 4 MiB>"

  int64_t units() const;
  std::span<const Request> unit_requests(int64_t u) const;
};

std::filesystem::path unit_path(const std::filesystem::path& run_dir, int64_t u);
// Durable (tmp + fsync + rename).
void write_unit(const std::filesystem::path& path, std::span<const Candidate> cands, double seconds);
// FileError naming the file when it is damaged.
std::vector<Candidate> read_unit(const std::filesystem::path& path, double& seconds);

}  // namespace maca::faq
