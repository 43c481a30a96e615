// HF model directory as a ModelSource: config.json plus a single
// model.safetensors or shards listed in model.safetensors.index.json; tensors
// are memory-mapped and converted to fp32 one at a time on load.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/model_source.h"
#include "io/safetensors.h"

namespace maca::io {

class HfModel final : public ModelSource {
 public:
  // Throws FileError naming the directory when config.json or the weights are
  // missing or damaged.
  explicit HfModel(std::filesystem::path dir);

  const nlohmann::json& config() const override { return config_; }
  std::vector<std::string> tensor_names() const override { return names_; }
  bool has_tensor(const std::string& name) const override { return shard_of_.count(name) != 0; }
  Shape tensor_shape(const std::string& name) const override { return shard(name).info(name).shape; }
  Tensor load(const std::string& name) const override;
  std::string location() const override { return dir_.string(); }
  std::vector<std::filesystem::path> files() const override { return files_; }

  // The tensor in its stored dtype, read-only (int32 GPTQ words must not pass
  // through fp32). Throws FileError like load().
  Tensor view(const std::string& name) const { return shard(name).view(name); }

 private:
  void open_sharded(const std::filesystem::path& index_path);
  const SafetensorsFile& shard(const std::string& name) const;

  std::filesystem::path dir_;
  nlohmann::json config_;
  std::vector<std::shared_ptr<SafetensorsFile>> shards_;
  std::map<std::string, const SafetensorsFile*> shard_of_;  // tensor -> the shard holding it
  std::vector<std::string> names_;                          // shard order, then data order
  std::vector<std::filesystem::path> files_;
};

std::unique_ptr<ModelSource> open_hf_model(const std::filesystem::path& dir);

}  // namespace maca::io
