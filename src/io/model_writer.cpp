#include "io/model_writer.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "core/error.h"

namespace maca::io {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

void remove_file(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) MACA_THROW(FileError, "cannot remove stale '{}': {}; remove it by hand", path.string(), ec.message());
}

}  // namespace

void write_file_atomic(const fs::path& path, const std::string& bytes) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      MACA_THROW(FileError, "cannot write '{}'; check free disk space and permissions", tmp.string());
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) MACA_THROW(FileError, "cannot rename '{}' to '{}': {}", tmp.string(), path.string(), ec.message());
}

ModelWeightsWriter::ModelWeightsWriter(const fs::path& dir, const std::vector<SafetensorsEntry>& entries,
                                       uint64_t max_shard_bytes)
    : dir_(dir) {
  MACA_ASSERT(max_shard_bytes > 0, "ModelWeightsWriter: max_shard_bytes must be positive");
  std::vector<std::vector<SafetensorsEntry>> groups(1);
  uint64_t group_bytes = 0;
  for (const SafetensorsEntry& e : entries) {
    if (!groups.back().empty() && group_bytes + e.nbytes() > max_shard_bytes) {
      groups.emplace_back();
      group_bytes = 0;
    }
    groups.back().push_back(e);
    group_bytes += e.nbytes();
    total_bytes_ += e.nbytes();
  }
  for (size_t k = 0; k < groups.size(); ++k) {
    files_.push_back(groups.size() == 1 ? kSingleFile
                                        : fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, groups.size()));
    for (const SafetensorsEntry& e : groups[k]) shard_of_[e.name] = k;
    shards_.push_back(std::make_unique<SafetensorsWriter>(dir_ / files_.back(), std::move(groups[k])));
  }
}

void ModelWeightsWriter::write(const std::string& name, const Tensor& tensor) {
  const auto it = shard_of_.find(name);
  MACA_ASSERT(it != shard_of_.end(), "ModelWeightsWriter '{}': no entry '{}'", dir_.string(), name);
  shards_[it->second]->write(name, tensor);
}

void ModelWeightsWriter::commit() {
  const bool sharded = files_.size() > 1;
  // Order: a crash in between leaves either the previous weights or files
  // that fail to load, never a stale file that shadows the new ones.
  if (!sharded) remove_file(dir_ / kIndexFile);
  for (auto& shard : shards_) shard->commit();
  if (sharded) {
    remove_file(dir_ / kSingleFile);
    nlohmann::json index = {{"metadata", {{"total_size", total_bytes_}}}, {"weight_map", nlohmann::json::object()}};
    for (const auto& [name, k] : shard_of_) index["weight_map"][name] = files_[k];
    write_file_atomic(dir_ / kIndexFile, index.dump(2) + "\n");
  }
  const std::set<std::string> current(files_.begin(), files_.end());
  const std::regex shard_name(R"(model-\d{5}-of-\d{5}\.safetensors)");
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, shard_name) && !current.count(name)) stale.push_back(entry.path());
  }
  for (const fs::path& path : stale) remove_file(path);
}

}  // namespace maca::io
