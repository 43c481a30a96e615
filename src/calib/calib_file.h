// The calibration-set file (format "maca-calib-set", version 1; docs/formats/
// calib-set.md): calibration sequences as token ids with their texts, the
// scores and groups that chose them, and the provenance of the whole set
// (how `maca faq` made it: teacher file hash, templates, sampling, seeds).
// `maca quantize --set calib.data=FILE.json` calibrates on its sequences as
// they are; the run's fingerprint covers their tokens and weights.
//
// One JSON document, written once, durably (temporary + rename):
//   {"format": "maca-calib-set", "version": 1,
//    "vocab": V, "seq_len": L,
//    "provenance": {...},
//    "samples": [{"tokens": [...], "text": "...", "weight": 1.0, "kind": "regenerated"|"original",
//                 "group": g, "candidate": c, "score": s, "z": z}, ...],
//    "groups": [{"group": g, "source": s, "candidates": [...]}, ...]}
// Only format, version, vocab, and samples[].tokens are needed to read it;
// weight defaults to 1. The rest is for people and analysis scripts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "calib/calib_set.h"

namespace maca::calib {

inline constexpr const char* kCalibSetFormat = "maca-calib-set";
inline constexpr int kCalibSetVersion = 1;

struct CalibSample {
  std::vector<int32_t> tokens;
  std::string text;
  double weight = 1.0;
  std::string kind = "original";  // regenerated | original
  int64_t group = -1, candidate = -1;
  double score = 0, z = 0;
};

struct CalibSetFile {
  int64_t vocab = 0, seq_len = 0;
  nlohmann::json provenance = nlohmann::json::object();
  std::vector<CalibSample> samples;
  nlohmann::json groups = nlohmann::json::array();

  CalibSet to_calib_set() const;
};

// True when `path` is a .json file that says it is a calibration-set file.
bool is_calib_set_file(const std::filesystem::path& path);

// Reads and checks the file: format and version, every token inside
// [0, vocab) of the model it is used with (`model_vocab`; the file's own
// vocab must not exceed it), no empty sequence, positive weights. Throws
// maca::FileError naming the file, the sample and what is wrong.
CalibSetFile read_calib_set_file(const std::filesystem::path& path, int64_t model_vocab);

// Writes `set` durably; throws maca::FileError naming the file.
void write_calib_set_file(const std::filesystem::path& path, const CalibSetFile& set);

}  // namespace maca::calib
