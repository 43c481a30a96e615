// The streaming exporter: a provider that produces one block of layers at a
// time gives the same bytes as the in-memory map, never holds two blocks and
// is asked for each layer once; a provider that hands over something else
// than it announced fails before anything is renamed into place; the
// streaming safetensors writer takes tensors in any order; above
// max_shard_bytes the weights become shards with an index that load back.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "export_test_layers.h"
#include "gptq_test_util.h"
#include "io/gptq_export.h"
#include "io/model_source.h"
#include "io/safetensors.h"

namespace maca::io {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

const fs::path kLlama = fs::path(MACA_FIXTURES) / "model" / "llama";

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int block_of(const std::string& layer) { return std::stoi(layer.substr(std::string("model.layers.").size())); }

// Builds a block's layers only when the exporter reaches it, keeps that block
// alone, and records how it was used.
class BlockAtATime final : public LayerProvider {
 public:
  explicit BlockAtATime(const std::map<std::string, QuantizedLinear>& all) : all_(all) {}

  std::vector<LayerInfo> layers() const override {
    std::vector<LayerInfo> out;
    for (const auto& [name, q] : all_) out.push_back(LayerInfo::of(name, q));
    std::stable_sort(out.begin(), out.end(),
                     [](const LayerInfo& a, const LayerInfo& b) { return block_of(a.name) < block_of(b.name); });
    return out;
  }

  QuantizedLinear get(const std::string& name) override {
    const int b = block_of(name);
    if (b != block_) {
      EXPECT_TRUE(cache_.empty()) << "block " << block_ << " not finished before block " << b;
      cache_.clear();
      for (const auto& [n, q] : all_)
        if (block_of(n) == b) cache_.emplace(n, q);
      block_ = b;
      ++loads_;
    }
    const auto it = cache_.find(name);
    EXPECT_NE(it, cache_.end()) << name << " asked for twice";
    QuantizedLinear q = std::move(it->second);
    cache_.erase(it);
    return q;
  }

  int loads() const { return loads_; }

 private:
  const std::map<std::string, QuantizedLinear>& all_;  // stands in for the per-block files
  std::map<std::string, QuantizedLinear> cache_;       // the current block's layers not yet handed over
  int block_ = -1, loads_ = 0;
};

class ExportStreaming : public test::TempDirTest {
 protected:
  std::unique_ptr<ModelSource> source_ = open_model(kLlama);
};

TEST_F(ExportStreaming, BlockProviderGivesTheBytesOfTheMap) {
  const auto layers = test::fixture_layers(*source_, 3, 32, false, true);
  GptqExportOptions options;
  options.version = "9.9.9";
  write_gptq_checkpoint(*source_, layers, dir_ / "map", options);
  BlockAtATime provider(layers);
  write_gptq_checkpoint(*source_, provider, dir_ / "blocks", options);
  EXPECT_EQ(provider.loads(), 2);
  for (const char* file : {"model.safetensors", "config.json", "quantize_config.json"})
    EXPECT_EQ(read_bytes(dir_ / "map" / file), read_bytes(dir_ / "blocks" / file)) << file;

  write_fake_quant_checkpoint(*source_, layers, dir_ / "fake_map", DType::BF16);
  BlockAtATime fake_provider(layers);
  write_fake_quant_checkpoint(*source_, fake_provider, dir_ / "fake_blocks", DType::BF16);
  EXPECT_EQ(fake_provider.loads(), 2);
  for (const char* file : {"model.safetensors", "config.json"})
    EXPECT_EQ(read_bytes(dir_ / "fake_map" / file), read_bytes(dir_ / "fake_blocks" / file)) << file;
}

// Announces every layer as 4-bit but hands over `name` with 3 bits.
class BrokenPromise final : public LayerProvider {
 public:
  BrokenPromise(const std::map<std::string, QuantizedLinear>& all, std::string name) : all_(all), name_(name) {}
  std::vector<LayerInfo> layers() const override {
    std::vector<LayerInfo> out;
    for (const auto& [n, q] : all_) out.push_back(LayerInfo::of(n, q));
    return out;
  }
  QuantizedLinear get(const std::string& name) override {
    QuantizedLinear q = all_.at(name);
    if (name == name_) q.bits = 3;
    return q;
  }

 private:
  const std::map<std::string, QuantizedLinear>& all_;
  std::string name_;
};

TEST_F(ExportStreaming, ALayerOtherThanAnnouncedIsAnErrorAndLeavesNoFiles) {
  const auto layers = test::fixture_layers(*source_, 4, 16, true, false);
  const std::string bad = "model.layers.1.mlp.up_proj";
  BrokenPromise provider(layers, bad);
  expect_error<Error>([&] { write_gptq_checkpoint(*source_, provider, dir_); }, {bad, "bits 4", "bits 3"});
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(ExportStreaming, UnpackableLayerFailsBeforeAnyFileIsCreated) {
  const auto layers = test::fixture_layers(*source_, 5, 16, true, false);
  expect_error<Error>([&] { write_gptq_checkpoint(*source_, layers, dir_ / "out"); },
                      {"model.layers.0.mlp.down_proj", "5-bit", "2, 3, 4 or 8"});
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(ExportStreaming, SafetensorsWriterTakesTensorsInAnyOrder) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (int i = 0; i < 4; ++i) {
    Tensor t = Tensor::empty({i + 1, 3}, i % 2 ? DType::I32 : DType::F32);
    for (int64_t k = 0; k < t.numel(); ++k) static_cast<int32_t*>(t.raw())[k] = static_cast<int32_t>(100 * i + k);
    tensors.emplace_back("t" + std::to_string(i), std::move(t));
  }
  write_safetensors(dir_ / "a.safetensors", tensors, {{"k", "v"}});
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, t] : tensors) entries.push_back({name, t.dtype(), t.shape()});
  SafetensorsWriter writer(dir_ / "b.safetensors", entries, {{"k", "v"}});
  for (auto it = tensors.rbegin(); it != tensors.rend(); ++it) writer.write(it->first, it->second);
  writer.commit();
  EXPECT_EQ(read_bytes(dir_ / "a.safetensors"), read_bytes(dir_ / "b.safetensors"));
}

TEST_F(ExportStreaming, SafetensorsWriterRejectsMismatchesAndRemovesItsTemporary) {
  {
    SafetensorsWriter writer(dir_ / "x.safetensors", {{"a", DType::F32, {2}}, {"b", DType::F32, {3}}});
    EXPECT_THROW(writer.write("a", Tensor::zeros({3})), std::logic_error);
    EXPECT_THROW(writer.write("c", Tensor::zeros({2})), std::logic_error);
    writer.write("a", Tensor::zeros({2}));
    EXPECT_THROW(writer.write("a", Tensor::zeros({2})), std::logic_error);
    EXPECT_THROW(writer.commit(), std::logic_error);  // "b" missing
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

nlohmann::json read_json(const fs::path& path) { return nlohmann::json::parse(read_bytes(path)); }

TEST_F(ExportStreaming, ShardsAboveMaxShardBytesLoadBackAndReplaceEachOther) {
  const auto layers = test::fixture_layers(*source_, 4, 16, true, true);
  write_fake_quant_checkpoint(*source_, layers, dir_ / "single");
  const fs::path out = dir_ / "out";
  write_fake_quant_checkpoint(*source_, layers, out);  // a previous single-file export in the same place
  MapLayerProvider provider(layers);
  constexpr uint64_t kMax = 100'000;
  write_fake_quant_checkpoint(*source_, provider, out, DType::F32, kMax);

  EXPECT_FALSE(fs::exists(out / "model.safetensors"));
  const nlohmann::json index = read_json(out / "model.safetensors.index.json");
  std::map<std::string, uint64_t> shard_bytes;
  uint64_t total = 0;
  for (const auto& [tensor, file] : index.at("weight_map").items()) {
    const auto shard = SafetensorsFile::open(out / file.get<std::string>());
    const SafetensorsInfo& info = shard->info(tensor);
    shard_bytes[file] += info.end - info.begin;
    total += info.end - info.begin;
  }
  EXPECT_GT(shard_bytes.size(), 2u);
  const size_t n = shard_bytes.size();
  size_t k = 1;
  for (const auto& [file, bytes] : shard_bytes) {
    EXPECT_EQ(file, fmt::format("model-{:05d}-of-{:05d}.safetensors", k++, n));
    EXPECT_LE(bytes, kMax) << file;  // no fixture tensor is larger than kMax on its own
  }
  EXPECT_EQ(index.at("metadata").at("total_size"), total);

  const auto single = open_model(dir_ / "single"), sharded = open_model(out);
  EXPECT_EQ(sharded->tensor_names().size(), single->tensor_names().size());
  for (const std::string& name : single->tensor_names()) {
    const Tensor a = single->load(name), b = sharded->load(name);
    EXPECT_EQ(0, std::memcmp(a.raw(), b.raw(), a.nbytes())) << name;
  }

  write_fake_quant_checkpoint(*source_, provider, out, DType::F32, 2 * kMax);  // fewer shards: stale ones go
  for (const auto& [file, bytes] : shard_bytes) {
    EXPECT_FALSE(fs::exists(out / file)) << file;  // the new shards are "-of-" a smaller count
  }
  EXPECT_EQ(open_model(out)->tensor_names().size(), single->tensor_names().size());

  write_fake_quant_checkpoint(*source_, layers, out);  // back to one file: index and shards go
  EXPECT_EQ(read_bytes(out / "model.safetensors"), read_bytes(dir_ / "single" / "model.safetensors"));
  for (const auto& entry : fs::directory_iterator(out))
    EXPECT_EQ(entry.path().filename().string().find("model-"), std::string::npos) << entry.path();
  EXPECT_FALSE(fs::exists(out / "model.safetensors.index.json"));
}

TEST_F(ExportStreaming, ShardedGptqCheckpointLoadsTheSameWeights) {
  const auto layers = test::fixture_layers(*source_, 4, 16, false, false);
  write_gptq_checkpoint(*source_, layers, dir_ / "single");
  GptqExportOptions options;
  options.max_shard_bytes = 50'000;
  write_gptq_checkpoint(*source_, layers, dir_ / "sharded", options);
  EXPECT_TRUE(fs::exists(dir_ / "sharded" / "model.safetensors.index.json"));
  const auto single = open_model(dir_ / "single"), sharded = open_model(dir_ / "sharded");
  for (const std::string& name : single->tensor_names()) {
    const Tensor a = single->load(name), b = sharded->load(name);
    ASSERT_EQ(a.shape(), b.shape()) << name;
    EXPECT_EQ(0, std::memcmp(a.raw(), b.raw(), a.nbytes())) << name;
  }
}

}  // namespace
}  // namespace maca::io
