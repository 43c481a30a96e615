#include "io/hf_model.h"

#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"

namespace maca::io {

namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) MACA_THROW(FileError, "cannot read '{}'", path.string());
  std::stringstream text;
  text << in.rdbuf();
  try {
    nlohmann::json j = nlohmann::json::parse(text.str());
    if (!j.is_object()) MACA_THROW(FileError, "'{}' is not a JSON object; re-download the model", path.string());
    return j;
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for numbers like 1e400
    MACA_THROW(FileError, "'{}' is not valid JSON ({}); re-download the model", path.string(), e.what());
  }
}

}  // namespace

HfModel::HfModel(fs::path dir) : dir_(std::move(dir)) {
  const fs::path config_path = dir_ / "config.json";
  if (!fs::is_regular_file(config_path))
    MACA_THROW(FileError, "'{}' has no config.json; expected an HF model directory (config.json + *.safetensors)",
               dir_.string());
  config_ = read_json(config_path);
  files_.push_back(config_path);

  const fs::path single = dir_ / "model.safetensors";
  const fs::path index = dir_ / "model.safetensors.index.json";
  if (fs::exists(index)) {
    open_sharded(index);
  } else if (fs::exists(single)) {
    shards_.push_back(SafetensorsFile::open(single));
    files_.push_back(single);
    for (const std::string& name : shards_[0]->names()) shard_of_[name] = shards_[0].get();
    names_ = shards_[0]->names();
  } else {
    MACA_THROW(FileError,
               "'{}' has neither model.safetensors nor model.safetensors.index.json; maca reads safetensors only "
               "(convert .bin/.pt checkpoints with transformers' save_pretrained(safe_serialization=True))",
               dir_.string());
  }
}

void HfModel::open_sharded(const fs::path& index_path) {
  const nlohmann::json index = read_json(index_path);
  files_.push_back(index_path);
  const auto map_it = index.find("weight_map");
  if (map_it == index.end() || !map_it->is_object())
    MACA_THROW(FileError, "'{}' has no \"weight_map\" object; re-download the model", index_path.string());

  std::map<std::string, std::vector<std::string>> tensors_of;  // shard file -> tensors the index puts there
  for (const auto& [tensor, file] : map_it->items()) {
    if (!file.is_string() || fs::path(file.get<std::string>()).filename() != file.get<std::string>())
      MACA_THROW(FileError, "'{}': weight_map entry for tensor '{}' is not a file name in the model directory",
                 index_path.string(), tensor);
    tensors_of[file.get<std::string>()].push_back(tensor);
  }
  for (const auto& [file, tensors] : tensors_of) {
    const fs::path shard_path = dir_ / file;
    if (!fs::exists(shard_path))
      MACA_THROW(FileError, "'{}' lists shard '{}' (e.g. for tensor '{}'), which does not exist in '{}'; download it",
                 index_path.string(), file, tensors.front(), dir_.string());
    shards_.push_back(SafetensorsFile::open(shard_path));
    files_.push_back(shard_path);
    const SafetensorsFile* s = shards_.back().get();
    const std::set<std::string> listed(tensors.begin(), tensors.end());
    for (const std::string& tensor : tensors)
      if (!s->contains(tensor))
        MACA_THROW(FileError, "'{}' puts tensor '{}' in shard '{}', which does not contain it; re-download the model",
                   index_path.string(), tensor, shard_path.string());
    for (const std::string& name : s->names()) {
      if (!listed.count(name)) continue;  // the index is authoritative
      shard_of_[name] = s;
      names_.push_back(name);
    }
  }
}

const SafetensorsFile& HfModel::shard(const std::string& name) const {
  const auto it = shard_of_.find(name);
  if (it == shard_of_.end())
    MACA_THROW(FileError,
               "model '{}' has no tensor '{}'; the checkpoint is incomplete or does not match the architecture in "
               "config.json",
               dir_.string(), name);
  return *it->second;
}

Tensor HfModel::load(const std::string& name) const {
  const Tensor raw = view(name);
  // clone: a f32 view borrows the read-only mapping, callers get a tensor they may modify.
  Tensor out = raw.dtype() == DType::F32 ? raw.clone() : raw.to_f32();
  shard(name).release(name);  // the copy is what stays resident
  return out;
}

std::unique_ptr<ModelSource> open_hf_model(const std::filesystem::path& dir) { return std::make_unique<HfModel>(dir); }

}  // namespace maca::io
