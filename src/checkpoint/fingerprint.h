// What identifies a quantization run, so that resuming refuses a changed job
// instead of mixing blocks rounded under different settings (design.md
// "Checkpoint and resume"). Stored as JSON in run_dir/fingerprint; its
// digest() is stored in every block file.
//
// Parts, each with a hash, a short description and the items a mismatch
// message names:
//   config   every resolved option that can change the result (a KeyFilter;
//            for quantize all keys but run.*, eval.*, export.*, inspect.*,
//            sweep.*, gen.*, faq.*) (items: key -> value)
//   model    per model file: name, size and a hash of its first and last
//            4 MiB (never the whole file: models reach 140 GB)
//            (items: file name -> "<size> <hash>")
//   calib    hash of the calibration tokens and their row weights
//   version  the maca version
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace maca::checkpoint {

// 64-bit FNV-1a, fed incrementally.
class Fnv1a {
 public:
  void update(const void* data, size_t size);
  void update(std::string_view text) { update(text.data(), text.size()); }
  uint64_t value() const { return hash_; }
  std::string hex() const;  // 16 lowercase hex digits

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

struct FingerprintPart {
  std::string hash;                          // 16 hex digits
  std::string description;                   // for people: "52 options", "3 files, 269.1 MB", "2"
  std::map<std::string, std::string> items;  // what a mismatch can name (see the file comment)
};

struct Fingerprint {
  std::map<std::string, FingerprintPart> parts;  // "config", "model", "calib", "version"
};

// Builds the fingerprint of a job. `model_files` are hashed by name, size and
// their first and last 4 MiB; an unreadable one is a maca::FileError.
// `calib_hash` comes from hash_calibration (or any stable text identifying the
// calibration set); `ranks` is the number of ranks of the job.
using KeyFilter = std::function<bool(std::string_view key)>;
// The config keys that can change a quantize job's result. Not
// calib.batch_tokens, calib.max_resident_gb nor calib.overflow: they bound
// memory, and the streams give the same bytes in any batching, in memory or
// spilled; the one thing they can change, whether the streams wait in bf16,
// depends on the rank count too, so the job records that outcome itself
// (add_config_item).
bool quantize_key(std::string_view key);

// Adds an item a job derives from its options to the config part (and
// rehashes it); a resume that derives another value is refused naming `key`.
void add_config_item(Fingerprint& fp, const std::string& key, const std::string& value);

Fingerprint make_fingerprint(const config::Config& config, const std::vector<std::filesystem::path>& model_files,
                             const std::string& calib_hash, const KeyFilter& affects_results = quantize_key);

// Hash of a calibration set: `tokens` of every sequence, concatenated, and
// `weights`, the sample weight of every row (token position) in the same
// order. Sequence boundaries follow from the calib.* options, which the
// config part covers.
std::string hash_calibration(std::span<const int32_t> tokens, std::span<const float> weights);

// Short hex of every part's hash; stored in each block file.
std::string digest(const Fingerprint& fp);

// One message per difference, empty when the job is the same, e.g.
// "config differs: quant.bits was 4, now 3",
// "model file model.safetensors: size was 1000, now 2000",
// "maca version was 0.1.0, now 0.2.0 (…)". The rank count is not part of it:
// results are the same for any rank count, so a run resumes with another one.
std::vector<std::string> differences(const Fingerprint& stored, const Fingerprint& current);

std::string to_json(const Fingerprint& fp);
// Parses to_json's output; anything else is a maca::FileError saying what is wrong.
Fingerprint from_json(std::string_view text);

// run_dir / "fingerprint", written through a synced temporary and a rename.
void write_fingerprint(const std::filesystem::path& run_dir, const Fingerprint& fp);
// The stored fingerprint of run_dir, or nullopt when there is none (a new
// run). An unreadable or damaged file is a maca::FileError naming it.
std::optional<Fingerprint> read_fingerprint(const std::filesystem::path& run_dir);

}  // namespace maca::checkpoint
