// HF model directories: single file and sharded, fp32 conversion on load, and
// the errors for missing tensors, shards and config.json.
#include "io/hf_model.h"

#include <gtest/gtest.h>

#include "core/half.h"
#include "io/safetensors.h"
#include "io_test_util.h"

namespace maca::io {
namespace {

using test::expect_file_error;
using test::write_bytes;

// Values exactly representable in bf16 and f16, so conversions are exact.
float value(int64_t i) { return static_cast<float>(i % 17 - 8) * 0.25f; }

Tensor make(Shape shape, DType dt) {
  Tensor t = Tensor::empty(std::move(shape), dt);
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (dt) {
      case DType::F32: t.data<float>()[i] = value(i); break;
      case DType::F16: t.data<uint16_t>()[i] = f32_to_f16(value(i)); break;
      case DType::BF16: t.data<uint16_t>()[i] = f32_to_bf16(value(i)); break;
      default: MACA_ASSERT(false, "test helper supports float dtypes only");
    }
  }
  return t;
}

void expect_values(const Tensor& t, Shape shape) {
  ASSERT_EQ(t.dtype(), DType::F32);
  ASSERT_EQ(t.shape(), shape);
  for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(t.data<float>()[i], value(i)) << "element " << i;
}

class HfModelTest : public test::TempDirTest {
 protected:
  void write_config() { write_bytes(dir_ / "config.json", R"({"model_type": "llama", "hidden_size": 8})"); }

  // Two shards: embed + layer 0 in the first, layer 1 + norm in the second.
  void write_sharded() {
    write_config();
    write_safetensors(dir_ / "model-00001-of-00002.safetensors",
                      {{"model.embed_tokens.weight", make({4, 8}, DType::BF16)},
                       {"model.layers.0.mlp.up_proj.weight", make({16, 8}, DType::F16)}});
    write_safetensors(dir_ / "model-00002-of-00002.safetensors",
                      {{"model.layers.1.mlp.up_proj.weight", make({16, 8}, DType::F32)},
                       {"model.norm.weight", make({8}, DType::BF16)}});
    write_bytes(dir_ / "model.safetensors.index.json", R"({"metadata": {"total_size": 1}, "weight_map": {
      "model.embed_tokens.weight": "model-00001-of-00002.safetensors",
      "model.layers.0.mlp.up_proj.weight": "model-00001-of-00002.safetensors",
      "model.layers.1.mlp.up_proj.weight": "model-00002-of-00002.safetensors",
      "model.norm.weight": "model-00002-of-00002.safetensors"}})");
  }
};

TEST_F(HfModelTest, SingleFileLoadsFp32) {
  write_config();
  write_safetensors(dir_ / "model.safetensors", {{"a.weight", make({3, 5}, DType::BF16)},
                                                 {"b.weight", make({7}, DType::F16)},
                                                 {"c.weight", make({2, 2}, DType::F32)}});
  const auto m = open_hf_model(dir_);
  EXPECT_EQ(m->config().at("model_type"), "llama");
  EXPECT_EQ(m->tensor_names(), (std::vector<std::string>{"a.weight", "b.weight", "c.weight"}));
  EXPECT_TRUE(m->has_tensor("b.weight"));
  EXPECT_FALSE(m->has_tensor("d.weight"));
  EXPECT_EQ(m->tensor_shape("a.weight"), (Shape{3, 5}));
  expect_values(m->load("a.weight"), {3, 5});
  expect_values(m->load("b.weight"), {7});
  Tensor c = m->load("c.weight");
  expect_values(c, {2, 2});
  c.data<float>()[0] = 42.0f;  // a loaded tensor is the caller's own copy
  EXPECT_EQ(m->load("c.weight").data<float>()[0], value(0));
  EXPECT_EQ(m->files().size(), 2u);
  EXPECT_EQ(m->location(), dir_.string());
}

TEST_F(HfModelTest, ShardedIndex) {
  write_sharded();
  const auto m = open_hf_model(dir_);
  EXPECT_EQ(m->tensor_names(),
            (std::vector<std::string>{"model.embed_tokens.weight", "model.layers.0.mlp.up_proj.weight",
                                      "model.layers.1.mlp.up_proj.weight", "model.norm.weight"}));
  expect_values(m->load("model.embed_tokens.weight"), {4, 8});
  expect_values(m->load("model.layers.0.mlp.up_proj.weight"), {16, 8});
  expect_values(m->load("model.layers.1.mlp.up_proj.weight"), {16, 8});
  expect_values(m->load("model.norm.weight"), {8});
  EXPECT_EQ(m->files().size(), 4u);  // config, index, two shards
}

TEST_F(HfModelTest, MissingTensorNamesDirAndTensor) {
  write_sharded();
  const auto m = open_hf_model(dir_);
  expect_file_error([&] { m->load("lm_head.weight"); }, {dir_.string(), "'lm_head.weight'"});
  expect_file_error([&] { m->tensor_shape("lm_head.weight"); }, {dir_.string(), "'lm_head.weight'"});
}

TEST_F(HfModelTest, MissingShardFile) {
  write_sharded();
  std::filesystem::remove(dir_ / "model-00002-of-00002.safetensors");
  expect_file_error([&] { open_hf_model(dir_); }, {"model-00002-of-00002.safetensors", "does not exist"});
}

TEST_F(HfModelTest, IndexPointsToWrongShard) {
  write_sharded();
  write_safetensors(dir_ / "model-00002-of-00002.safetensors", {{"model.norm.weight", make({8}, DType::BF16)}});
  expect_file_error([&] { open_hf_model(dir_); },
                    {"'model.layers.1.mlp.up_proj.weight'", "model-00002-of-00002.safetensors", "does not contain"});
}

TEST_F(HfModelTest, DamagedShardNamesIt) {
  write_sharded();
  std::filesystem::resize_file(dir_ / "model-00001-of-00002.safetensors", 100);
  expect_file_error([&] { open_hf_model(dir_); }, {"model-00001-of-00002.safetensors"});
}

TEST_F(HfModelTest, BadIndex) {
  write_sharded();
  write_bytes(dir_ / "model.safetensors.index.json", R"({"weight_map": {"a": "../outside.safetensors"}})");
  expect_file_error([&] { open_hf_model(dir_); }, {"model.safetensors.index.json", "'a'"});
  write_bytes(dir_ / "model.safetensors.index.json", R"({"metadata": {}})");
  expect_file_error([&] { open_hf_model(dir_); }, {"model.safetensors.index.json", "weight_map"});
  write_bytes(dir_ / "model.safetensors.index.json", "{");
  expect_file_error([&] { open_hf_model(dir_); }, {"model.safetensors.index.json", "not valid JSON"});
}

TEST_F(HfModelTest, NoConfigJson) {
  write_safetensors(dir_ / "model.safetensors", {{"a", make({2}, DType::F32)}});
  expect_file_error([&] { open_hf_model(dir_); }, {dir_.string(), "config.json"});
}

TEST_F(HfModelTest, ConfigNotJson) {
  write_bytes(dir_ / "config.json", "model_type: llama");
  expect_file_error([&] { open_hf_model(dir_); }, {"config.json", "not valid JSON"});
}

TEST_F(HfModelTest, NoWeights) {
  write_config();
  expect_file_error([&] { open_hf_model(dir_); }, {dir_.string(), "model.safetensors"});
}

}  // namespace
}  // namespace maca::io
