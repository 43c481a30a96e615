// ModelSpec parsing: both transformers config formats, layer kinds, and the
// errors for missing keys, bad values, unsupported models and tensors whose
// shape disagrees with the config.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "backend/context.h"
#include "core/error.h"
#include "io/model_source.h"
#include "model/model.h"

namespace maca::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json fixture_config(const std::string& arch) {
  std::ifstream in(fs::path(MACA_FIXTURES) / "model" / arch / "config.json");
  return json::parse(in);
}

std::string error_of(const json& config) {
  try {
    ModelSpec::from_hf_config(config, "test");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ModelSpec, Gemma3LegacyFormatMatchesTransformers5Format) {
  const json now = fixture_config("gemma3");
  json old = now;
  old.erase("rope_parameters");
  old.erase("layer_types");
  old["rope_theta"] = 1000000.0;
  old["rope_local_base_freq"] = 10000.0;
  old["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}};
  old["sliding_window_pattern"] = 2;  // layers 1, 3 global as in the fixture's layer_types
  const ModelSpec a = ModelSpec::from_hf_config(now, "new"), b = ModelSpec::from_hf_config(old, "old");
  EXPECT_EQ(a.inv_freq_full, b.inv_freq_full);
  EXPECT_EQ(a.inv_freq_sliding, b.inv_freq_sliding);
  ASSERT_EQ(a.layers.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(a.layers[i].sliding, i % 2 == 0) << i;
    EXPECT_EQ(a.layers[i].sliding_window, i % 2 == 0 ? 4 : 0) << i;
    EXPECT_EQ(b.layers[i].sliding, a.layers[i].sliding) << i;
  }
  EXPECT_EQ(a.arch, Arch::Gemma3);
  EXPECT_TRUE(a.norm_unit_offset && a.sandwich_norms && a.qk_norm && a.tie_embeddings);
  EXPECT_FLOAT_EQ(a.embed_scale, 8.0f);
  EXPECT_FLOAT_EQ(a.attn_scale, 1.0f / std::sqrt(24.0f));
  // Linear scaling divides the global frequencies only.
  EXPECT_FLOAT_EQ(a.inv_freq_full[0], 0.5f);
  EXPECT_FLOAT_EQ(a.inv_freq_sliding[0], 1.0f);
}

TEST(ModelSpec, Gemma3DefaultPatternIsFiveLocalOneGlobal) {
  json c = fixture_config("gemma3");
  c.erase("layer_types");
  c["num_hidden_layers"] = 12;
  const ModelSpec s = ModelSpec::from_hf_config(c, "test");
  for (int i = 0; i < 12; ++i) EXPECT_EQ(s.layers[i].sliding, (i + 1) % 6 != 0) << i;
}

TEST(ModelSpec, Llama3RopeScalingInBothFormats) {
  const json now = fixture_config("llama");
  json old = now;
  json scaling = now.at("rope_parameters");
  old["rope_theta"] = scaling.at("rope_theta");
  scaling.erase("rope_theta");
  old["rope_scaling"] = scaling;
  old.erase("rope_parameters");
  const ModelSpec a = ModelSpec::from_hf_config(now, "new"), b = ModelSpec::from_hf_config(old, "old");
  EXPECT_EQ(a.inv_freq_full, b.inv_freq_full);
  // head_dim 16, theta 1e4, factor 8, original context 64, low 1, high 4:
  // wavelength 2π (< 16) stays, 2π·10000^(6/8) (> 64) is divided by 8.
  EXPECT_FLOAT_EQ(a.inv_freq_full[0], 1.0f);
  EXPECT_NEAR(a.inv_freq_full[6], std::pow(10000.0, -0.75) / 8.0, 1e-9);
  EXPECT_FALSE(a.layers[0].sliding);
}

TEST(ModelSpec, ArchFeatures) {
  const ModelSpec q2 = ModelSpec::from_hf_config(fixture_config("qwen2"), "t");
  EXPECT_TRUE(q2.qkv_bias && !q2.o_bias && !q2.qk_norm && q2.tie_embeddings);
  const ModelSpec q3 = ModelSpec::from_hf_config(fixture_config("qwen3"), "t");
  EXPECT_TRUE(!q3.qkv_bias && q3.qk_norm && !q3.norm_unit_offset);
  EXPECT_FLOAT_EQ(q3.attn_scale, 0.25f);
}

TEST(ModelSpec, ErrorsNameTheKey) {
  json c = fixture_config("llama");
  c.erase("hidden_size");
  EXPECT_NE(error_of(c).find("'hidden_size'"), std::string::npos) << error_of(c);

  c = fixture_config("llama");
  c["num_attention_heads"] = "four";
  EXPECT_NE(error_of(c).find("'num_attention_heads'"), std::string::npos) << error_of(c);

  c = fixture_config("llama");
  c["num_key_value_heads"] = 3;
  EXPECT_NE(error_of(c).find("num_key_value_heads"), std::string::npos) << error_of(c);

  c = fixture_config("llama");
  c["model_type"] = "mamba";
  EXPECT_NE(error_of(c).find("'mamba' is not supported"), std::string::npos) << error_of(c);

  c = fixture_config("llama");
  c["rope_parameters"]["rope_type"] = "yarn";
  EXPECT_NE(error_of(c).find("'yarn'"), std::string::npos) << error_of(c);

  c = fixture_config("gemma3");
  c["final_logit_softcapping"] = 30.0;
  EXPECT_NE(error_of(c).find("final_logit_softcapping"), std::string::npos) << error_of(c);
}

// A real fixture source that misreports one tensor's shape.
class WrongShapeSource : public io::ModelSource {
 public:
  WrongShapeSource(std::unique_ptr<io::ModelSource> inner, std::string name)
      : inner_(std::move(inner)), name_(std::move(name)) {}
  const json& config() const override { return inner_->config(); }
  std::vector<std::string> tensor_names() const override { return inner_->tensor_names(); }
  bool has_tensor(const std::string& n) const override { return inner_->has_tensor(n); }
  Shape tensor_shape(const std::string& n) const override { return n == name_ ? Shape{3, 5} : inner_->tensor_shape(n); }
  Tensor load(const std::string& n) const override { return inner_->load(n); }
  std::string location() const override { return inner_->location(); }
  std::vector<fs::path> files() const override { return inner_->files(); }

 private:
  std::unique_ptr<io::ModelSource> inner_;
  std::string name_;
};

TEST(ModelSpec, BlockShapeMismatchNamesTensorAndShapes) {
  const std::string bad = "model.layers.1.self_attn.k_proj.weight";
  WrongShapeSource src(io::open_model(fs::path(MACA_FIXTURES) / "model" / "qwen2"), bad);
  auto ctx = backend::Context::create(Device::cpu());
  const Model m(src, *ctx);
  EXPECT_NO_THROW(m.load_block(0));
  try {
    m.load_block(1);
    FAIL() << "expected a shape error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(bad), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3, 5]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[32, 64]"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace maca::model
