#include "calib/calib_file.h"

#include <fstream>
#include <sstream>

#include "checkpoint/durable.h"
#include "core/error.h"

namespace maca::calib {

using nlohmann::json;

CalibSet CalibSetFile::to_calib_set() const {
  CalibSet set;
  for (size_t i = 0; i < samples.size(); ++i)
    set.sequences.push_back({samples[i].tokens, samples[i].weight, static_cast<int64_t>(i)});
  return set;
}

bool is_calib_set_file(const std::filesystem::path& path) {
  if (path.extension() != ".json") return false;
  std::ifstream in(path, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return head.find(std::string("\"format\": \"") + kCalibSetFormat + "\"") != std::string::npos ||
         head.find(std::string("\"format\":\"") + kCalibSetFormat + "\"") != std::string::npos;
}

CalibSetFile read_calib_set_file(const std::filesystem::path& path, int64_t model_vocab) {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) MACA_THROW(FileError, "{}: cannot open the calibration-set file", name);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    MACA_THROW(FileError, "{}: not valid JSON ({})", name, e.what());
  }
  try {
    if (j.value("format", "") != kCalibSetFormat)
      MACA_THROW(FileError, "{}: not a calibration-set file (\"format\" is not \"{}\")", name, kCalibSetFormat);
    const int version = j.at("version").get<int>();
    if (version != kCalibSetVersion)
      MACA_THROW(FileError, "{}: calibration-set version {}; this maca reads version {} (regenerate it with this maca)",
                 name, version, kCalibSetVersion);
    CalibSetFile f;
    f.vocab = j.at("vocab").get<int64_t>();
    f.seq_len = j.value("seq_len", int64_t{0});
    if (f.vocab > model_vocab)
      MACA_THROW(FileError, "{}: made for a vocabulary of {} tokens, but the model has {}: it belongs to another model",
                 name, f.vocab, model_vocab);
    f.provenance = j.value("provenance", json::object());
    f.groups = j.value("groups", json::array());
    const json& samples = j.at("samples");
    if (!samples.is_array() || samples.empty()) MACA_THROW(FileError, "{}: \"samples\" is empty", name);
    for (size_t i = 0; i < samples.size(); ++i) {
      const json& s = samples[i];
      CalibSample c;
      c.tokens = s.at("tokens").get<std::vector<int32_t>>();
      if (c.tokens.empty()) MACA_THROW(FileError, "{}: sample {} has no tokens", name, i);
      for (size_t t = 0; t < c.tokens.size(); ++t)
        if (c.tokens[t] < 0 || c.tokens[t] >= model_vocab)
          MACA_THROW(FileError, "{}: sample {} token {} is {}, outside the model's vocabulary [0, {})", name, i, t,
                     c.tokens[t], model_vocab);
      c.text = s.value("text", "");
      c.weight = s.value("weight", 1.0);
      if (!(c.weight > 0)) MACA_THROW(FileError, "{}: sample {} has weight {} (must be > 0)", name, i, c.weight);
      c.kind = s.value("kind", "original");
      c.group = s.value("group", int64_t{-1});
      c.candidate = s.value("candidate", int64_t{-1});
      c.score = s.value("score", 0.0);
      c.z = s.value("z", 0.0);
      f.samples.push_back(std::move(c));
    }
    return f;
  } catch (const json::exception& e) {
    MACA_THROW(FileError, "{}: malformed calibration-set file ({})", name, e.what());
  }
}

void write_calib_set_file(const std::filesystem::path& path, const CalibSetFile& set) {
  json samples = json::array();
  for (const CalibSample& s : set.samples)
    samples.push_back({{"tokens", s.tokens},
                       {"text", s.text},
                       {"weight", s.weight},
                       {"kind", s.kind},
                       {"group", s.group},
                       {"candidate", s.candidate},
                       {"score", s.score},
                       {"z", s.z}});
  const json j = {{"format", kCalibSetFormat}, {"version", kCalibSetVersion},  {"vocab", set.vocab},
                  {"seq_len", set.seq_len},    {"provenance", set.provenance}, {"samples", samples},
                  {"groups", set.groups}};
  // "format" first so is_calib_set_file finds it in the head of the file.
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  checkpoint::write_text_durably(path, text + "\n");
}

}  // namespace maca::calib
