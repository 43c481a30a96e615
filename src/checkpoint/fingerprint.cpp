#include "checkpoint/fingerprint.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "checkpoint/durable.h"
#include "core/error.h"

namespace maca::checkpoint {

namespace {

constexpr int kFormatVersion = 1;
constexpr int64_t kEdgeBytes = int64_t{4} << 20;  // hashed at each end of a model file
// Parts in the order differences() reports them.
constexpr std::array<const char*, 4> kPartOrder = {"config", "model", "calib", "version"};

std::string hash_items(const std::map<std::string, std::string>& items) {
  Fnv1a h;
  for (const auto& [key, value] : items) {
    h.update(key);
    h.update("", 1);
    h.update(value);
    h.update("", 1);
  }
  return h.hex();
}

FingerprintPart text_part(const std::string& text) {
  Fnv1a h;
  h.update(text);
  return {h.hex(), text, {}};
}

// Hash and description of a config part from its items.
void seal_config(FingerprintPart& part) {
  part.hash = hash_items(part.items);
  part.description = fmt::format("{} options", part.items.size());
}

FingerprintPart config_part(const config::Config& config, const KeyFilter& affects_results) {
  FingerprintPart part;
  for (const config::Option& option : config.schema().options())
    if (affects_results(option.key)) part.items[option.key] = config::format_value(config.value(option.key));
  seal_config(part);
  return part;
}

// "<size> <hash of the first and last 4 MiB>"
std::string model_file_id(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::error_code ec;
  const auto size = static_cast<int64_t>(std::filesystem::file_size(file, ec));
  if (!in || ec)
    MACA_THROW(FileError, "cannot read model file '{}' for the run's fingerprint: {}", file.string(),
               ec ? ec.message() : std::strerror(errno));
  Fnv1a h;
  std::vector<char> buffer;
  const auto hash_range = [&](int64_t offset, int64_t length) {
    buffer.resize(static_cast<size_t>(length));
    in.seekg(offset);
    if (!in.read(buffer.data(), length))
      MACA_THROW(FileError, "cannot read model file '{}' for the run's fingerprint: it ended early", file.string());
    h.update(buffer.data(), buffer.size());
  };
  const int64_t head = std::min(size, kEdgeBytes);
  hash_range(0, head);
  const int64_t tail = std::min(size - head, kEdgeBytes);
  hash_range(size - tail, tail);
  return fmt::format("{} {}", size, h.hex());
}

FingerprintPart model_part(const std::vector<std::filesystem::path>& files) {
  FingerprintPart part;
  int64_t total = 0;
  for (const std::filesystem::path& file : files) {
    const std::string id = model_file_id(file);
    total += std::stoll(id);
    part.items[file.filename().string()] = id;
  }
  part.hash = hash_items(part.items);
  part.description = fmt::format("{} files, {:.1f} MB", files.size(), static_cast<double>(total) / 1e6);
  return part;
}

std::string shown(const std::string& value) { return value.empty() ? "\"\"" : value; }

void config_differences(const FingerprintPart& was, const FingerprintPart& now, std::vector<std::string>& out) {
  std::set<std::string> keys;
  for (const auto& [key, value] : was.items) keys.insert(key);
  for (const auto& [key, value] : now.items) keys.insert(key);
  for (const std::string& key : keys) {
    const auto a = was.items.find(key), b = now.items.find(key);
    if (a == was.items.end())
      out.push_back(fmt::format("config differs: {} is a new option, now {}", key, shown(b->second)));
    else if (b == now.items.end())
      out.push_back(fmt::format("config differs: {} was {}, now no longer an option", key, shown(a->second)));
    else if (a->second != b->second)
      out.push_back(fmt::format("config differs: {} was {}, now {}", key, shown(a->second), shown(b->second)));
  }
}

void model_differences(const FingerprintPart& was, const FingerprintPart& now, std::vector<std::string>& out) {
  std::set<std::string> files;
  for (const auto& [file, id] : was.items) files.insert(file);
  for (const auto& [file, id] : now.items) files.insert(file);
  for (const std::string& file : files) {
    const auto a = was.items.find(file), b = now.items.find(file);
    if (a == was.items.end()) {
      out.push_back(fmt::format("model file {} is new", file));
    } else if (b == now.items.end()) {
      out.push_back(fmt::format("model file {} is no longer part of the model", file));
    } else if (a->second != b->second) {
      const std::string size_was = a->second.substr(0, a->second.find(' '));
      const std::string size_now = b->second.substr(0, b->second.find(' '));
      out.push_back(size_was != size_now ? fmt::format("model file {}: size was {}, now {}", file, size_was, size_now)
                                         : fmt::format("model file {}: content differs", file));
    }
  }
}

void part_differences(const std::string& name, const FingerprintPart& was, const FingerprintPart& now,
                      std::vector<std::string>& out) {
  const size_t before = out.size();
  if (name == "config") config_differences(was, now, out);
  if (name == "model") model_differences(was, now, out);
  if (name == "calib")
    out.push_back(fmt::format("calibration set differs: hash was {}, now {} (data, tokenizer or sampling changed)",
                              was.hash, now.hash));
  if (name == "version")
    out.push_back(fmt::format("maca version was {}, now {} (a checkpoint resumes only with the version that wrote it)",
                              was.description, now.description));
  if (out.size() == before)  // the hashes differ, the items do not say how
    out.push_back(fmt::format("{} differs: was {} ({}), now {} ({})", name, was.description, was.hash, now.description,
                              now.hash));
}

[[noreturn]] void bad_json(const std::string& what) { MACA_THROW(FileError, "fingerprint: {}", what); }

}  // namespace

void Fnv1a::update(const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash_ ^= bytes[i];
    hash_ *= 0x100000001b3ULL;
  }
}

std::string Fnv1a::hex() const { return fmt::format("{:016x}", hash_); }

bool quantize_key(std::string_view key) {
  for (const std::string_view section : {"run.", "eval.", "export.", "inspect.", "sweep.", "gen.", "faq."})
    if (key.starts_with(section)) return false;
  for (const std::string_view memory_only : {"calib.batch_tokens", "calib.max_resident_gb", "calib.overflow"})
    if (key == memory_only) return false;
  return true;
}

void add_config_item(Fingerprint& fp, const std::string& key, const std::string& value) {
  FingerprintPart& part = fp.parts.at("config");
  part.items[key] = value;
  seal_config(part);
}

Fingerprint make_fingerprint(const config::Config& config, const std::vector<std::filesystem::path>& model_files,
                             const std::string& calib_hash, const KeyFilter& affects_results) {
  Fingerprint fp;
  fp.parts["config"] = config_part(config, affects_results);
  fp.parts["model"] = model_part(model_files);
  fp.parts["calib"] = {calib_hash, "calibration tokens and row weights", {}};
  fp.parts["version"] = text_part(MACA_VERSION);
  return fp;
}

std::string hash_calibration(std::span<const int32_t> tokens, std::span<const float> weights) {
  Fnv1a h;
  const uint64_t counts[2] = {tokens.size(), weights.size()};
  h.update(counts, sizeof(counts));
  h.update(tokens.data(), tokens.size_bytes());
  h.update(weights.data(), weights.size_bytes());
  return h.hex();
}

std::string digest(const Fingerprint& fp) {
  Fnv1a h;
  for (const auto& [name, part] : fp.parts) {
    h.update(name);
    h.update("", 1);
    h.update(part.hash);
    h.update("", 1);
  }
  return h.hex();
}

std::vector<std::string> differences(const Fingerprint& stored, const Fingerprint& current) {
  std::vector<std::string> names(kPartOrder.begin(), kPartOrder.end());
  for (const Fingerprint* fp : {&stored, &current})
    for (const auto& [name, part] : fp->parts)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  std::vector<std::string> out;
  for (const std::string& name : names) {
    const auto was = stored.parts.find(name), now = current.parts.find(name);
    const bool in_stored = was != stored.parts.end(), in_current = now != current.parts.end();
    if (in_stored && in_current) {
      if (was->second.hash != now->second.hash) part_differences(name, was->second, now->second, out);
    } else if (in_stored || in_current) {
      out.push_back(fmt::format("fingerprint part '{}' is {}", name,
                                in_stored ? "stored but not computed now" : "computed now but was not stored"));
    }
  }
  return out;
}

std::string to_json(const Fingerprint& fp) {
  nlohmann::json parts = nlohmann::json::object();
  for (const auto& [name, part] : fp.parts)
    parts[name] = {{"hash", part.hash}, {"description", part.description}, {"items", part.items}};
  const nlohmann::json j = {{"format_version", kFormatVersion}, {"digest", digest(fp)}, {"parts", parts}};
  return j.dump(2) + "\n";
}

Fingerprint from_json(std::string_view text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) bad_json("not a JSON object");
  if (!j.contains("format_version") || j["format_version"] != kFormatVersion)
    bad_json(fmt::format("format_version is not {}", kFormatVersion));
  if (!j.contains("parts") || !j["parts"].is_object()) bad_json("'parts' is missing");
  Fingerprint fp;
  for (const auto& [name, p] : j["parts"].items()) {
    const bool ok = p.is_object() && p.contains("hash") && p["hash"].is_string() && p.contains("description") &&
                    p["description"].is_string() && p.contains("items") && p["items"].is_object() &&
                    std::all_of(p["items"].begin(), p["items"].end(), [](const auto& v) { return v.is_string(); });
    if (!ok) bad_json(fmt::format("part '{}' needs strings 'hash', 'description' and an object 'items'", name));
    fp.parts[name] = {p["hash"].get<std::string>(), p["description"].get<std::string>(),
                      p["items"].get<std::map<std::string, std::string>>()};
  }
  return fp;
}

void write_fingerprint(const std::filesystem::path& run_dir, const Fingerprint& fp) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  if (ec) MACA_THROW(FileError, "cannot create run directory '{}': {}", run_dir.string(), ec.message());
  write_text_durably(run_dir / "fingerprint", to_json(fp));
}

std::optional<Fingerprint> read_fingerprint(const std::filesystem::path& run_dir) {
  const std::filesystem::path file = run_dir / "fingerprint";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) MACA_THROW(FileError, "cannot read '{}': {}", file.string(), std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  try {
    return from_json(text.str());
  } catch (const FileError& e) {
    MACA_THROW(FileError,
               "'{}' is damaged ({}); it identifies the run whose checkpoint is in '{}': start over "
               "in a new run.dir, or delete '{}' to start this one over",
               file.string(), e.what(), run_dir.string(), run_dir.string());
  }
}

}  // namespace maca::checkpoint
