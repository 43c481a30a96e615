// GPTQ and fake-quant export of the tiny llama fixture: QuantizedLinear ->
// write -> open_model -> load equals QuantizedLinear::dequantize() exactly for
// every bits / sym / act-order combination; config and quantize_config keys,
// v1 for symmetric and v2 for asymmetric, dtypes, tokenizer files, and the
// errors for layers that do not fit.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "gptq_test_util.h"
#include "io/gptq_export.h"
#include "io/model_source.h"
#include "io/safetensors.h"

namespace maca::io {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

const fs::path kLlama = fs::path(MACA_FIXTURES) / "model" / "llama";

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Three layers of different shapes, all with the same settings.
std::map<std::string, QuantizedLinear> make_layers(int bits, bool sym, bool act_order, int64_t group = 16) {
  return {{"model.layers.0.self_attn.q_proj", test::random_layer(64, 64, bits, group, sym, act_order, 1)},
          {"model.layers.0.self_attn.k_proj", test::random_layer(32, 64, bits, group, sym, act_order, 2)},
          {"model.layers.1.mlp.down_proj", test::random_layer(64, 128, bits, group, sym, act_order, 3)}};
}

void expect_weights(const ModelSource& m, const std::map<std::string, QuantizedLinear>& layers) {
  for (const auto& [name, q] : layers) {
    const Tensor w = m.load(name + ".weight");
    ASSERT_EQ(w.shape(), (Shape{q.rows, q.cols})) << name;
    EXPECT_EQ(std::vector<float>(w.data<float>(), w.data<float>() + w.numel()), q.dequantize()) << name;
  }
}

// Every tensor of `source` that is not quantized is in `m` with the same values.
void expect_passthrough(const ModelSource& source, const ModelSource& m,
                        const std::map<std::string, QuantizedLinear>& layers) {
  for (const std::string& name : source.tensor_names()) {
    if (layers.count(name.substr(0, name.size() - 7))) continue;
    const Tensor a = source.load(name), b = m.load(name);
    EXPECT_EQ(std::vector<float>(a.data<float>(), a.data<float>() + a.numel()),
              std::vector<float>(b.data<float>(), b.data<float>() + b.numel()))
        << name;
  }
}

using Combo = std::tuple<int, bool, bool>;  // bits, sym, act-order

class GptqRoundTrip : public test::TempDirTest, public ::testing::WithParamInterface<Combo> {};

TEST_P(GptqRoundTrip, LoadEqualsDequantize) {
  const auto [bits, sym, act_order] = GetParam();
  const auto source = open_model(kLlama);
  const auto layers = make_layers(bits, sym, act_order);
  GptqExportOptions options;
  options.dtype = DType::F32;
  options.version = "9.9.9";
  write_gptq_checkpoint(*source, layers, dir_, options);

  const auto m = open_model(dir_);
  expect_weights(*m, layers);
  expect_passthrough(*source, *m, layers);
  EXPECT_EQ(m->tensor_names().size(), source->tensor_names().size());
  for (const std::string& name : m->tensor_names()) EXPECT_EQ(name.find("qweight"), std::string::npos) << name;

  const nlohmann::json qc = read_json(dir_ / "config.json").at("quantization_config");
  EXPECT_EQ(qc, read_json(dir_ / "quantize_config.json"));
  EXPECT_EQ(qc.at("quant_method"), "gptq");
  EXPECT_EQ(qc.at("bits"), bits);
  EXPECT_EQ(qc.at("group_size"), 16);
  EXPECT_EQ(qc.at("desc_act"), act_order);
  EXPECT_EQ(qc.at("sym"), sym);
  EXPECT_EQ(qc.at("static_groups"), false);
  EXPECT_EQ(qc.at("true_sequential"), true);
  EXPECT_EQ(qc.at("damp_percent"), 0.01);
  EXPECT_EQ(qc.at("checkpoint_format"), sym ? "gptq" : "gptq_v2");
  EXPECT_EQ(qc.at("lm_head"), false);
  EXPECT_EQ(qc.at("meta").at("quantizer"), nlohmann::json::array({"maca:9.9.9"}));
}

INSTANTIATE_TEST_SUITE_P(All, GptqRoundTrip,
                         ::testing::Combine(::testing::Values(2, 3, 4, 8), ::testing::Bool(), ::testing::Bool()),
                         [](const auto& info) {
                           return "b" + std::to_string(std::get<0>(info.param)) +
                                  (std::get<1>(info.param) ? "_sym" : "_asym") +
                                  (std::get<2>(info.param) ? "_actorder" : "");
                         });

class GptqExport : public test::TempDirTest {
 protected:
  std::unique_ptr<ModelSource> source_ = open_model(kLlama);
};

TEST_F(GptqExport, SymmetricFourBitIsV1With0x77777777AndFp16Tensors) {
  const auto layers = make_layers(4, true, false, 32);
  write_gptq_checkpoint(*source_, layers, dir_);
  const auto file = SafetensorsFile::open(dir_ / "model.safetensors");
  for (const auto& [name, q] : layers) {
    const Tensor qzeros = file->view(name + ".qzeros");
    EXPECT_EQ(qzeros.shape(), (Shape{q.cols / 32, q.rows / 8}));
    for (int64_t i = 0; i < qzeros.numel(); ++i) EXPECT_EQ(qzeros.data<int32_t>()[i], 0x77777777) << name;
    EXPECT_EQ(file->info(name + ".qweight").shape, (Shape{q.cols / 8, q.rows}));
    EXPECT_EQ(file->info(name + ".scales").dtype, "F16");
    EXPECT_EQ(file->info(name + ".g_idx").dtype, "I32");
    EXPECT_FALSE(file->contains(name + ".weight"));
  }
  EXPECT_EQ(file->info("model.embed_tokens.weight").dtype, "F16");
  EXPECT_EQ(file->metadata().at("format"), "pt");
  const nlohmann::json config = read_json(dir_ / "config.json");
  EXPECT_EQ(config.at("quantization_config").at("checkpoint_format"), "gptq");
  EXPECT_EQ(config.at("dtype"), "float16");
  EXPECT_EQ(config.at("hidden_size"), 64);
  expect_weights(*open_model(dir_), layers);  // fp16 scales: still exact
}

TEST_F(GptqExport, ExplicitFormatOverridesAuto) {
  auto layers = make_layers(4, true, false);
  GptqExportOptions options;
  options.checkpoint_format = "gptq_v2";
  write_gptq_checkpoint(*source_, layers, dir_, options);
  EXPECT_EQ(read_json(dir_ / "config.json").at("quantization_config").at("checkpoint_format"), "gptq_v2");
  expect_weights(*open_model(dir_), layers);
  options.checkpoint_format = "gptq3";
  expect_error<ConfigError>([&] { write_gptq_checkpoint(*source_, layers, dir_, options); }, {"gptq3"});
}

TEST_F(GptqExport, FakeQuantLoadsBackTheSameWeights) {
  const auto layers = make_layers(3, false, true, 32);
  write_fake_quant_checkpoint(*source_, layers, dir_);
  const auto m = open_model(dir_);
  expect_weights(*m, layers);
  expect_passthrough(*source_, *m, layers);
  EXPECT_EQ(m->tensor_names(), source_->tensor_names());
  const nlohmann::json config = read_json(dir_ / "config.json");
  EXPECT_FALSE(config.contains("quantization_config"));
  EXPECT_EQ(config.at("dtype"), "float32");
  EXPECT_FALSE(fs::exists(dir_ / "quantize_config.json"));
}

TEST_F(GptqExport, FakeQuantOfAGptqCheckpointDropsItsQuantizationConfig) {
  const auto layers = make_layers(4, false, false);
  write_gptq_checkpoint(*source_, layers, dir_ / "gptq");
  const auto gptq = open_model(dir_ / "gptq");
  write_fake_quant_checkpoint(*gptq, {}, dir_ / "fake", DType::BF16);
  EXPECT_FALSE(read_json(dir_ / "fake" / "config.json").contains("quantization_config"));
  const auto file = SafetensorsFile::open(dir_ / "fake" / "model.safetensors");
  EXPECT_EQ(file->info("model.layers.0.self_attn.q_proj.weight").dtype, "BF16");
}

TEST_F(GptqExport, CopiesTokenizerFilesAndLeavesNoTemporaries) {
  const fs::path src = dir_ / "src";
  fs::create_directories(src);
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy_file(kLlama / f, src / f);
  std::ofstream(src / "tokenizer.json") << R"({"model": {}})";
  std::ofstream(src / "tokenizer_config.json") << "{}";
  const auto source = open_model(src);
  write_gptq_checkpoint(*source, make_layers(4, true, false), dir_ / "out");
  EXPECT_EQ(read_text(dir_ / "out" / "tokenizer.json"), R"({"model": {}})");
  EXPECT_TRUE(fs::exists(dir_ / "out" / "tokenizer_config.json"));
  EXPECT_FALSE(fs::exists(dir_ / "out" / "special_tokens_map.json"));
  for (const auto& entry : fs::directory_iterator(dir_ / "out"))
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
}

// One rounded layer of a GGUF source.
std::map<std::string, QuantizedLinear> one_gguf_layer(const ModelSource& source) {
  const std::string layer = "model.layers.0.self_attn.q_proj";
  const Shape shape = source.tensor_shape(layer + ".weight");
  return {{layer, test::random_layer(shape[0], shape[1], 4, -1, true, false, 4)}};
}

const TokenizerFiles kGenerated = {{"tokenizer.json", R"({"generated": 1})"}, {"tokenizer_config.json", "{}"}};

TEST_F(GptqExport, GgufSourceTokenizerBesideItBecomesTokenizerJson) {
  fs::copy_file(fs::path(MACA_FIXTURES) / "gguf" / "tiny_llama.gguf", dir_ / "tiny.gguf");
  std::ofstream(dir_ / "tiny.tokenizer.json") << R"({"gguf": 1})";
  const auto source = open_model(dir_ / "tiny.gguf");
  const auto layers = one_gguf_layer(*source);
  GptqExportOptions options;
  options.tokenizer_files = kGenerated;  // the file beside the source takes precedence
  write_gptq_checkpoint(*source, layers, dir_ / "out", options);
  EXPECT_EQ(read_text(dir_ / "out" / "tokenizer.json"), R"({"gguf": 1})");
  EXPECT_FALSE(fs::exists(dir_ / "out" / "tokenizer_config.json"));
  expect_weights(*open_model(dir_ / "out"), layers);
}

TEST_F(GptqExport, GeneratedTokenizerFilesFillInForABareGguf) {
  fs::copy_file(fs::path(MACA_FIXTURES) / "gguf" / "tiny_llama.gguf", dir_ / "tiny.gguf");
  const auto source = open_model(dir_ / "tiny.gguf");
  const auto layers = one_gguf_layer(*source);
  GptqExportOptions options;
  options.tokenizer_files = kGenerated;
  write_gptq_checkpoint(*source, layers, dir_ / "gptq", options);
  MapLayerProvider provider(layers);
  write_fake_quant_checkpoint(*source, provider, dir_ / "fake", DType::F32, kDefaultMaxShardBytes, kGenerated);
  for (const char* out : {"gptq", "fake"}) {
    EXPECT_EQ(read_text(dir_ / out / "tokenizer.json"), R"({"generated": 1})") << out;
    EXPECT_EQ(read_text(dir_ / out / "tokenizer_config.json"), "{}") << out;
  }
}

TEST_F(GptqExport, MixedSettingsAreAnError) {
  auto layers = make_layers(4, true, false);
  layers["model.layers.1.mlp.down_proj"] = test::random_layer(64, 128, 3, 16, true, false, 9);
  expect_error<Error>([&] { write_gptq_checkpoint(*source_, layers, dir_); },
                      {"model.layers.1.mlp.down_proj", "bits 3", "one setting"});
  EXPECT_FALSE(fs::exists(dir_ / "model.safetensors"));
}

TEST_F(GptqExport, LayersThatDoNotFitTheSourceAreErrors) {
  std::map<std::string, QuantizedLinear> layers = {
      {"model.layers.0.self_attn.q_proj", test::random_layer(32, 64, 4, 16, true, false, 1)}};
  expect_error<Error>([&] { write_gptq_checkpoint(*source_, layers, dir_); },
                      {"model.layers.0.self_attn.q_proj", "[32, 64]", "[64, 64]"});
  layers = {{"model.layers.7.self_attn.q_proj", test::random_layer(64, 64, 4, 16, true, false, 1)}};
  expect_error<Error>([&] { write_fake_quant_checkpoint(*source_, layers, dir_); },
                      {"model.layers.7.self_attn.q_proj.weight"});
  expect_error<Error>([&] { write_gptq_checkpoint(*source_, {}, dir_); }, {"no quantized layers"});
  layers = {{"model.layers.0.self_attn.q_proj", test::random_layer(64, 64, 4, 16, false, false, 1)}};
  layers.begin()->second.zeros[0] = 0;
  GptqExportOptions v1;
  v1.checkpoint_format = "gptq";
  expect_error<Error>([&] { write_gptq_checkpoint(*source_, layers, dir_, v1); },
                      {"model.layers.0.self_attn.q_proj", "zero point 0"});
}

}  // namespace
}  // namespace maca::io
