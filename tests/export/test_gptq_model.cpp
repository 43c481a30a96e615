// Reading GPTQ checkpoints: the tiny llama checkpoint packed by the numpy
// oracle (tests/fixtures/gptq/llama: 4-bit, group 32, asymmetric, act-order,
// gptq_v2) runs through model::Model to the logits transformers computed with
// the dequantized weights; damaged checkpoints fail naming the tensor.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backend/context.h"
#include "core/error.h"
#include "gptq_test_util.h"
#include "io/gptq_model.h"
#include "io/model_source.h"
#include "io/safetensors.h"
#include "model/model.h"

namespace maca::io {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

const fs::path kCheckpoint = fs::path(MACA_FIXTURES) / "gptq" / "llama";
const std::string kQ = "model.layers.0.self_attn.q_proj";

TEST(GptqModel, PresentsHfNamesAndShapes) {
  const auto m = open_model(kCheckpoint);
  const auto names = m->tensor_names();
  EXPECT_EQ(std::count(names.begin(), names.end(), kQ + ".weight"), 1);
  for (const std::string& n : names) EXPECT_EQ(n.find(".q"), n.find(".q_proj")) << n;  // no qweight / qzeros
  EXPECT_EQ(names.size(), 2 * 9 + 3u);  // per layer 7 linears + 2 norms; embed, norm, lm_head
  EXPECT_TRUE(m->has_tensor(kQ + ".weight"));
  EXPECT_EQ(m->tensor_shape(kQ + ".weight"), (Shape{64, 64}));
  EXPECT_EQ(m->tensor_shape("model.layers.1.mlp.down_proj.weight"), (Shape{64, 128}));
  EXPECT_EQ(m->tensor_shape("model.layers.1.self_attn.k_proj.weight"), (Shape{32, 64}));
  EXPECT_EQ(m->load("model.norm.weight").dtype(), DType::F32);

  const GptqCheckpoint ckpt(kCheckpoint);
  EXPECT_EQ(ckpt.layers().size(), 14u);
  EXPECT_EQ(ckpt.settings().bits, 4);
  EXPECT_EQ(ckpt.settings().group_size, 32);
  EXPECT_EQ(ckpt.settings().format, GptqFormat::V2);
  EXPECT_TRUE(ckpt.unpack(kQ).act_order);
}

TEST(GptqModel, LogitsMatchTransformers) {
  std::ifstream in(kCheckpoint / "expected.json");
  const auto j = nlohmann::json::parse(in);
  const auto seq_lens = j.at("seq_lens").get<std::vector<int64_t>>();
  const auto ids = j.at("input_ids").get<std::vector<int32_t>>();
  std::vector<float> want(ids.size() * j.at("vocab").get<size_t>());
  std::ifstream raw(kCheckpoint / j.at("logits").get<std::string>(), std::ios::binary);
  raw.read(reinterpret_cast<char*>(want.data()), static_cast<std::streamsize>(want.size() * sizeof(float)));
  ASSERT_TRUE(raw);

  const auto src = open_model(kCheckpoint);
  const auto ctx = backend::Context::create(Device::cpu());
  const model::Model m(*src, *ctx);
  Tensor hidden = m.embed(ids);
  for (int b = 0; b < m.spec().n_layers; ++b) m.forward_block(m.load_block(b), b, hidden, seq_lens);
  const Tensor logits = m.logits(hidden);
  ASSERT_EQ(logits.numel(), static_cast<int64_t>(want.size()));
  double err = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, static_cast<double>(std::abs(logits.data<float>()[i] - want[i])));
    scale = std::max(scale, static_cast<double>(std::abs(want[i])));
  }
  std::printf("gptq llama: max |logit error| %.3g (max |logit| %.3g)\n", err, scale);
  EXPECT_GT(scale, 1.0);
  EXPECT_LE(err, 1e-4);
}

// A copy of the fixture checkpoint whose tensors can be altered.
class DamagedCheckpoint : public test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(kCheckpoint / f, dir_ / f);
  }

  // Rewrites model.safetensors with `name` replaced by `t`.
  void replace(const std::string& name, const Tensor& t) {
    std::vector<std::pair<std::string, Tensor>> tensors;
    {
      const auto file = SafetensorsFile::open(dir_ / "model.safetensors");
      for (const std::string& n : file->names()) tensors.emplace_back(n, n == name ? t : file->view(n).clone());
    }
    write_safetensors(dir_ / "model.safetensors", tensors);
  }

  Tensor stored(const std::string& name) const {
    return SafetensorsFile::open(dir_ / "model.safetensors")->view(name).clone();
  }
};

TEST_F(DamagedCheckpoint, ShortQweightNamesTheTensor) {
  replace(kQ + ".qweight", stored(kQ + ".qweight").slice_rows(0, 7).clone());
  const auto m = open_model(dir_);
  expect_error<FileError>([&] { m->load(kQ + ".weight"); }, {kQ + ".qweight", "[7, 64]", "[8, 64]"});
}

TEST_F(DamagedCheckpoint, InconsistentScalesNameTheTensor) {
  replace(kQ + ".scales", stored(kQ + ".scales").slice_rows(0, 1).clone());
  expect_error<FileError>([&] { open_model(dir_)->load(kQ + ".weight"); }, {kQ + ".scales", "[1, 64]", "[2, 64]"});
}

TEST_F(DamagedCheckpoint, BadScaleAndGroupIndexAreNamed) {
  Tensor scales = stored(kQ + ".scales");
  scales.data<uint16_t>()[3] = 0xbc00;  // -1.0
  replace(kQ + ".scales", scales);
  expect_error<FileError>([&] { open_model(dir_)->load(kQ + ".weight"); }, {kQ + ".scales", "finite and > 0"});
  replace(kQ + ".scales", SafetensorsFile::open(kCheckpoint / "model.safetensors")->view(kQ + ".scales").clone());
  Tensor g_idx = stored(kQ + ".g_idx");
  g_idx.data<int32_t>()[5] = 2;
  replace(kQ + ".g_idx", g_idx);
  expect_error<FileError>([&] { open_model(dir_)->load(kQ + ".weight"); }, {kQ + ".g_idx", "column 5", "[0, 2)"});
}

TEST_F(DamagedCheckpoint, WrongDtypeAndMissingQzeros) {
  replace(kQ + ".qweight", stored(kQ + ".qweight").to_f32());
  expect_error<FileError>([&] { open_model(dir_)->load(kQ + ".weight"); }, {kQ + ".qweight", "f32", "i32"});
  std::vector<std::pair<std::string, Tensor>> tensors;
  const auto file = SafetensorsFile::open(kCheckpoint / "model.safetensors");
  for (const std::string& n : file->names())
    if (n != kQ + ".qzeros") tensors.emplace_back(n, file->view(n).clone());
  write_safetensors(dir_ / "model.safetensors", tensors);
  expect_error<FileError>([&] { open_model(dir_); }, {kQ, kQ + ".qzeros", "incomplete"});
}

TEST_F(DamagedCheckpoint, TruncatedFileNamesTheFile) {
  fs::resize_file(dir_ / "model.safetensors", fs::file_size(dir_ / "model.safetensors") - 100);
  expect_error<FileError>([&] { open_model(dir_); }, {"model.safetensors"});
}

TEST_F(DamagedCheckpoint, BadQuantizationConfig) {
  std::ifstream in(dir_ / "config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  in.close();
  config["quantization_config"]["checkpoint_format"] = "marlin";
  std::ofstream(dir_ / "config.json") << config.dump();
  expect_error<FileError>([&] { open_model(dir_); }, {"config.json", "marlin"});
  config["quantization_config"].erase("bits");
  config["quantization_config"]["checkpoint_format"] = "gptq";
  std::ofstream(dir_ / "config.json") << config.dump();
  expect_error<FileError>([&] { open_model(dir_); }, {"config.json", "\"bits\""});
}

}  // namespace
}  // namespace maca::io
