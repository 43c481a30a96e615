// Writing an HF model directory's files without holding the model: the
// weights as one model.safetensors, or, above a size limit, as shards
// model-0000k-of-0000N.safetensors with model.safetensors.index.json (the
// layout transformers' save_pretrained writes and io/hf_model.h reads); and
// small text files (config.json, ...) written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"

namespace maca::io {

// transformers' default max_shard_size ("5GB").
constexpr uint64_t kDefaultMaxShardBytes = 5'000'000'000;

// Writes `bytes` to `path`.tmp and renames it onto `path`. Throws FileError
// naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, const std::string& bytes);

// The weights of one model: every tensor's name, dtype and shape are known up
// front (`entries`, in file order); the data then arrives one tensor at a time
// in any order. When the data exceeds `max_shard_bytes`, consecutive entries
// are grouped into shards of at most that size (a larger tensor gets a shard
// of its own). Nothing replaces the directory's previous weights before
// commit(); a writer destroyed without commit() leaves them and removes its
// temporaries.
class ModelWeightsWriter {
 public:
  ModelWeightsWriter(const std::filesystem::path& dir, const std::vector<SafetensorsEntry>& entries,
                     uint64_t max_shard_bytes = kDefaultMaxShardBytes);

  // See SafetensorsWriter::write.
  void write(const std::string& name, const Tensor& tensor);
  // Renames the finished files into place, writes the index when sharded, and
  // removes weight files of a previous export that would shadow or outlive
  // the new ones (model.safetensors, the index, other shards).
  void commit();

 private:
  std::filesystem::path dir_;
  std::vector<std::string> files_;  // file name of each shard
  std::vector<std::unique_ptr<SafetensorsWriter>> shards_;
  std::map<std::string, size_t> shard_of_;  // tensor -> shard
  uint64_t total_bytes_ = 0;
};

}  // namespace maca::io
