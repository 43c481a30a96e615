// GGUF reader, dequantization and GGUF -> HF mapping. Expected values come
// from gguf-py and transformers (tests/scripts/make_gguf_fixtures.py).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/real_models.h"
#include "io/gguf.h"
#include "io/gguf_model.h"
#include "io_test_util.h"

namespace maca::io {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::expect_file_error;
using test::write_bytes;

const fs::path kFixtures = fs::path(MACA_FIXTURES) / "gguf";

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << p << " (run tests/scripts/make_gguf_fixtures.py)";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

json read_json(const fs::path& p) { return json::parse(read_all(p)); }

// Same as checksum() in make_gguf_fixtures.py: bit patterns summed, plain and
// weighted by index + 1, mod 2^64.
std::vector<uint64_t> checksum(const Tensor& t) {
  const auto* bits = static_cast<const uint32_t*>(t.raw());
  uint64_t s1 = 0, s2 = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s1 += bits[i];
    s2 += uint64_t{bits[i]} * static_cast<uint64_t>(i + 1);
  }
  return {s1, s2};
}

// ---------------------------------------------------------------- dequant

class DequantTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(DequantTest, BitExactWithGgufPy) {
  const GgmlType type = GetParam();
  const std::string stem = std::string("dequant_") + ggml_type_name(type);
  const std::string raw = read_all(kFixtures / (stem + ".bin"));
  const std::string want = read_all(kFixtures / (stem + ".f32"));
  const auto n = static_cast<int64_t>(want.size() / 4);
  ASSERT_GT(n, 0);
  EXPECT_EQ(ggml_nbytes(type, n), raw.size());
  std::vector<float> got(static_cast<size_t>(n));
  dequantize_row(type, reinterpret_cast<const uint8_t*>(raw.data()), got.data(), n);
  const auto* want_bits = reinterpret_cast<const uint32_t*>(want.data());
  int mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t g;
    std::memcpy(&g, &got[i], 4);
    if (g != want_bits[i] && ++mismatches <= 5)
      ADD_FAILURE() << ggml_type_name(type) << " value " << i << ": got bits " << std::hex << g << ", gguf-py "
                    << want_bits[i];
  }
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DequantTest,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q4_0,
                                           GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
                                           GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                           GgmlType::Q6_K),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

TEST(GgmlSizes, BlocksAndErrors) {
  EXPECT_EQ(ggml_nbytes(GgmlType::F32, 3), 12u);
  EXPECT_EQ(ggml_nbytes(GgmlType::Q4_0, 64), 36u);
  EXPECT_EQ(ggml_nbytes(GgmlType::Q6_K, 512), 420u);
  EXPECT_THROW(ggml_nbytes(GgmlType::Q4_K, 100), FileError);  // not whole blocks
  EXPECT_THROW(ggml_nbytes(GgmlType::Q8_K, 256), FileError);  // not supported
  EXPECT_FALSE(ggml_type_supported(static_cast<GgmlType>(99)));
}

// ---------------------------------------------------------------- metadata

TEST(GgufFile, MetadataGetters) {
  const auto f = GgufFile::open(kFixtures / "tiny_llama.gguf");
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->get_string("general.architecture"), "llama");
  EXPECT_EQ(f->get_int("llama.block_count"), 2);
  EXPECT_EQ(f->get_int("test.u8"), 200);
  EXPECT_EQ(f->get_int("test.i8"), -5);
  EXPECT_EQ(f->get_int("test.u16"), 65535);
  EXPECT_EQ(f->get_int("test.i16"), -300);
  EXPECT_EQ(f->get_int("test.i32"), -70000);
  EXPECT_EQ(f->get_int("test.i64"), -1234567890123);
  EXPECT_EQ(f->get_float("test.f32"), 0.25);
  EXPECT_EQ(f->get_float("test.f64"), 0.1);
  EXPECT_EQ(f->get_float("test.u8"), 200.0);  // integers read as floats
  EXPECT_TRUE(f->get_bool("test.bool"));
  EXPECT_EQ(f->get_string("test.str"), "h\xc3\xa9llo");
  EXPECT_EQ(f->get_int_array("test.int_array"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(f->get_float_array("test.float_array"), (std::vector<double>{0.5, 1.5}));
  const auto tokens = f->get_string_array("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 32u);
  EXPECT_EQ(tokens[5], "tok5");
  EXPECT_EQ(f->get_float_array("tokenizer.ggml.scores")[3], -3.0);
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.merges"), (std::vector<std::string>{"t o", "to k"}));
  const auto& nested = std::get<GgufValue::Array>(f->find("test.nested")->v);
  ASSERT_EQ(nested.size(), 2u);
  EXPECT_EQ(std::get<GgufValue::Array>(nested[0].v).size(), 2u);
  EXPECT_EQ(f->find("no.such.key"), nullptr);

  const std::string file = "tiny_llama.gguf";
  expect_file_error([&] { f->get_int("no.such.key"); }, {file, "no.such.key", "missing"});
  expect_file_error([&] { f->get_int("test.str"); }, {file, "test.str", "string", "integer"});
  expect_file_error([&] { f->get_int("test.u64_big"); }, {file, "test.u64_big", "too large"});
  expect_file_error([&] { f->get_string("test.u8"); }, {file, "test.u8"});
  expect_file_error([&] { f->get_bool("test.u8"); }, {file, "test.u8"});
  expect_file_error([&] { f->get_string_array("test.int_array"); }, {file, "test.int_array"});
}

TEST(GgufFile, TensorTable) {
  const auto f = GgufFile::open(kFixtures / "tiny_llama.gguf");
  EXPECT_EQ(f->tensors().size(), 4u + 2u * 9u);  // + rope_freqs
  const GgufTensorInfo* q = f->find_tensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, GgmlType::Q4_0);
  EXPECT_EQ(q->ne, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(q->nbytes, ggml_nbytes(GgmlType::Q4_0, 64 * 64));
  EXPECT_EQ(q->offset % 32, 0u);
  EXPECT_EQ(f->find_tensor("nope"), nullptr);
  const Tensor up = f->dequantize(*f->find_tensor("blk.1.ffn_up.weight"));
  EXPECT_EQ(up.shape(), (Shape{128, 64}));
}

// ---------------------------------------------------------------- HF mapping

class TinyModel : public ::testing::TestWithParam<std::string> {};

// Config values and every tensor, bit-exact against gguf-py + transformers'
// GGUF loader: llama q/k un-permuted, gemma3 norms shifted back by -1, qwen2
// biases, tied embeddings for qwen2/gemma3, llama3 rope scaling from rope_freqs.
TEST_P(TinyModel, ConfigAndTensorsMatchTransformers) {
  const std::string arch = GetParam();
  const fs::path path = kFixtures / ("tiny_" + arch + ".gguf");
  const json want = read_json(kFixtures / ("tiny_" + arch + ".json"));
  const auto src = open_gguf_model(path);
  const json& cfg = src->config();
  for (const auto& [key, value] : want["config"].items()) EXPECT_EQ(cfg.at(key), value) << key;
  if (arch == "gemma3") {
    EXPECT_EQ(cfg["architectures"], json::array({"Gemma3ForCausalLM"}));
    EXPECT_EQ(cfg["hidden_activation"], "gelu_pytorch_tanh");
    EXPECT_EQ(cfg["rope_local_base_freq"], 10000.0);
    EXPECT_TRUE(cfg["attn_logit_softcapping"].is_null());
  } else {
    EXPECT_EQ(cfg["hidden_act"], "silu");
  }
  EXPECT_EQ(src->files(), std::vector<fs::path>{path});
  EXPECT_EQ(src->location(), path.string());

  const auto names = src->tensor_names();
  EXPECT_EQ(names.size(), want["tensors"].size());
  for (const auto& [name, t] : want["tensors"].items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(src->has_tensor(name));
    EXPECT_EQ(src->tensor_shape(name), t["shape"].get<Shape>());
    const Tensor w = src->load(name);
    EXPECT_EQ(w.shape(), t["shape"].get<Shape>());
    EXPECT_EQ(checksum(w), t["checksum"].get<std::vector<uint64_t>>());
  }
  expect_file_error([&] { src->load("model.layers.9.mlp.up_proj.weight"); },
                    {path.filename().string(), "model.layers.9.mlp.up_proj.weight"});
}

INSTANTIATE_TEST_SUITE_P(Archs, TinyModel, ::testing::Values("llama", "qwen2", "gemma3"),
                         [](const auto& info) { return info.param; });

// llama.cpp convert_hf_to_gguf.py permute(): reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2).
Tensor permute_like_llama_cpp(const Tensor& w, int64_t n_head) {
  const int64_t rows = w.dim(0), cols = w.numel() / rows, half = rows / n_head / 2;
  Tensor out = Tensor::empty(w.shape());
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t j = 0; j < half; ++j)
      for (int64_t s = 0; s < 2; ++s)
        for (int64_t c = 0; c < cols; ++c)
          out.data<float>()[((h * half + j) * 2 + s) * cols + c] = w.data<float>()[((h * 2 + s) * half + j) * cols + c];
  return out;
}

TEST(GgufModel, UnpermuteInvertsLlamaCppPermute) {
  for (const int64_t n_head : {1, 2, 3, 8}) {
    Tensor w = Tensor::empty({n_head * 8, 5});
    for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = static_cast<float>(i);
    const Tensor back = unpermute_llama_qk(permute_like_llama_cpp(w, n_head), n_head);
    EXPECT_EQ(checksum(back), checksum(w)) << n_head;
  }
  // Head of 4 rows: llama.cpp interleaves halves (0 2 1 3) -> HF (0 1 2 3).
  Tensor p = Tensor::empty({4, 1});
  const float stored[] = {0, 2, 1, 3};
  std::memcpy(p.data<float>(), stored, sizeof(stored));
  const Tensor hf = unpermute_llama_qk(p, 1);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(hf.data<float>()[i], static_cast<float>(i));
  EXPECT_THROW(unpermute_llama_qk(Tensor::empty({6, 2}), 2), Error);
  EXPECT_THROW(unpermute_llama_qk(Tensor::empty({0, 2}), 1), Error);  // fuzz finding: divided by zero rows
}

// ---------------------------------------------------------------- damaged files

// Builds GGUF v3 bytes field by field, for damaged-file cases.
class GgufBuilder {
 public:
  GgufBuilder& u32(uint32_t v) { return put(&v, 4); }
  GgufBuilder& u64(uint64_t v) { return put(&v, 8); }
  GgufBuilder& str(const std::string& s) {
    u64(s.size());
    bytes_ += s;
    return *this;
  }
  GgufBuilder& header(uint64_t n_tensors, uint64_t n_kv) {
    bytes_ += "GGUF";
    return u32(3).u64(n_tensors).u64(n_kv);
  }
  GgufBuilder& kv_u32(const std::string& key, uint32_t v) { return str(key).u32(4).u32(v); }
  GgufBuilder& kv_str(const std::string& key, const std::string& v) { return str(key).u32(8).str(v); }
  GgufBuilder& tensor(const std::string& name, uint64_t ne0, uint32_t type, uint64_t offset) {
    return str(name).u32(1).u64(ne0).u32(type).u64(offset);
  }
  // Pads to `align` and appends `n` data bytes.
  GgufBuilder& data(size_t n, size_t align = 32) {
    bytes_.resize((bytes_.size() + align - 1) / align * align, '\0');
    bytes_.append(n, '\x01');
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  GgufBuilder& put(const void* p, size_t n) {
    bytes_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string bytes_;
};

constexpr uint32_t kF32 = 0;

class GgufDamaged : public test::TempDirTest {
 protected:
  // Writes `bytes`, expects GgufFile::open to throw a FileError naming the
  // file and containing every part.
  void expect_rejected(const std::string& bytes, std::initializer_list<std::string> parts) {
    const fs::path p = dir_ / "bad.gguf";
    write_bytes(p, bytes);
    expect_file_error([&] { GgufFile::open(p); }, {"bad.gguf"});
    expect_file_error([&] { GgufFile::open(p); }, parts);
  }
};

TEST_F(GgufDamaged, ValidMinimalFileOpens) {
  const fs::path p = dir_ / "ok.gguf";
  write_bytes(p, GgufBuilder().header(2, 1).kv_u32("k", 7).tensor("a", 8, kF32, 0).tensor("b", 8, kF32, 32).data(64).bytes());
  const auto f = GgufFile::open(p);
  EXPECT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->dequantize(*f->find_tensor("b")).shape(), (Shape{8}));
  std::string v2 = GgufBuilder().header(1, 0).tensor("a", 8, kF32, 0).data(32).bytes();
  v2[4] = 2;
  write_bytes(p, v2);
  EXPECT_EQ(GgufFile::open(p)->version(), 2u);
}

TEST_F(GgufDamaged, TruncatedAnywhere) {
  const std::string full = read_all(kFixtures / "tiny_llama.gguf");
  const fs::path p = dir_ / "cut.gguf";
  for (size_t len = 0; len < full.size(); len += (len < 4096 ? 7 : 4093)) {
    write_bytes(p, full.substr(0, len));
    expect_file_error([&] { GgufFile::open(p); }, {"cut.gguf"});
  }
  write_bytes(p, full.substr(0, full.size() - 1));
  expect_file_error([&] { GgufFile::open(p); }, {"cut.gguf", "outside"});
}

TEST_F(GgufDamaged, BadMagicAndVersion) {
  std::string b = GgufBuilder().header(0, 0).bytes();
  b[0] = 'X';
  expect_rejected(b, {"magic"});
  b = GgufBuilder().header(0, 0).bytes();
  b[4] = 9;
  expect_rejected(b, {"version 9"});
}

TEST_F(GgufDamaged, CountsPastEnd) {
  expect_rejected(GgufBuilder().header(uint64_t{1} << 40, 0).bytes(), {"tensor count"});
  expect_rejected(GgufBuilder().header(0, ~uint64_t{0}).bytes(), {"metadata count"});
  expect_rejected(GgufBuilder().header(0, 1).str("arr").u32(9).u32(4).u64(uint64_t{1} << 50).bytes(),
                  {"'arr' array length"});
}

TEST_F(GgufDamaged, StringLengthPastEnd) {
  expect_rejected(GgufBuilder().header(0, 1).u64(uint64_t{1} << 62).data(64).bytes(), {"metadata key #0", "past the end"});
  expect_rejected(GgufBuilder().header(0, 1).str("s").u32(8).u64(1000).bytes(), {"metadata 's'", "past the end"});
}

TEST_F(GgufDamaged, BadMetadata) {
  expect_rejected(GgufBuilder().header(0, 1).str("t").u32(77).bytes(), {"'t'", "unknown value type 77"});
  expect_rejected(GgufBuilder().header(0, 2).kv_u32("dup", 1).kv_u32("dup", 2).bytes(), {"'dup'", "twice"});
  expect_rejected(GgufBuilder().header(1, 1).kv_u32("general.alignment", 24).tensor("a", 8, kF32, 0).data(32).bytes(),
                  {"general.alignment", "power of two"});
  GgufBuilder deep;
  deep.header(0, 1).str("deep").u32(9);
  for (int i = 0; i < 20; ++i) deep.u32(9).u64(1);
  expect_rejected(deep.bytes(), {"'deep'", "deeper"});
}

TEST_F(GgufDamaged, TensorOffsets) {
  expect_rejected(GgufBuilder().header(1, 0).tensor("far", 8, kF32, 64).data(32).bytes(), {"'far'", "outside"});
  expect_rejected(GgufBuilder().header(1, 0).tensor("huge", 8, kF32, ~uint64_t{0} << 5).data(32).bytes(),
                  {"'huge'"});
  expect_rejected(GgufBuilder().header(1, 0).tensor("odd", 8, kF32, 4).data(64).bytes(),
                  {"'odd'", "not a multiple of the alignment 32"});
  expect_rejected(GgufBuilder().header(2, 0).tensor("a", 16, kF32, 0).tensor("b", 8, kF32, 32).data(96).bytes(),
                  {"'a'", "'b'", "overlap"});
  expect_rejected(GgufBuilder().header(2, 0).tensor("a", 8, kF32, 0).tensor("a", 8, kF32, 32).data(64).bytes(),
                  {"'a'", "twice"});
}

TEST_F(GgufDamaged, TensorShapesAndTypes) {
  expect_rejected(GgufBuilder().header(1, 0).tensor("w", 64, 99, 0).data(256).bytes(), {"'w'", "type id 99"});
  expect_rejected(GgufBuilder().header(1, 0).tensor("iq", 256, 16, 0).data(256).bytes(), {"'iq'", "type id 16"});
  expect_rejected(GgufBuilder().header(1, 0).tensor("q", 40, 2, 0).data(256).bytes(), {"'q'", "block size 32"});
  expect_rejected(GgufBuilder().header(1, 0).str("d").u32(5).data(64).bytes(), {"'d'", "5 dimensions"});
  expect_rejected(GgufBuilder().header(1, 0).str("big").u32(2).u64(uint64_t{1} << 40).u64(uint64_t{1} << 40).bytes(),
                  {"'big'", "impossible dimension"});
}

TEST_F(GgufDamaged, ModelsMacaDoesNotMap) {
  const fs::path p = dir_ / "model.gguf";
  write_bytes(p, GgufBuilder().header(0, 1).kv_str("general.architecture", "mamba").bytes());
  expect_file_error([&] { open_gguf_model(p); }, {"model.gguf", "'mamba'", "not supported"});
  write_bytes(p, GgufBuilder().header(0, 0).bytes());
  expect_file_error([&] { open_gguf_model(p); }, {"model.gguf", "general.architecture", "missing"});
  write_bytes(p, GgufBuilder()
                     .header(1, 1)
                     .kv_str("general.architecture", "llama")
                     .tensor("blk.0.ssm_conv.weight", 8, kF32, 0)
                     .data(32)
                     .bytes());
  expect_file_error([&] { open_gguf_model(p); }, {"model.gguf", "'blk.0.ssm_conv.weight'", "no HF counterpart"});
  write_bytes(p, GgufBuilder()
                     .header(1, 2)
                     .kv_str("general.architecture", "llama")
                     .kv_u32("llama.embedding_length", 0)
                     .tensor("token_embd.weight", 8, kF32, 0)
                     .data(32)
                     .bytes());
  expect_file_error([&] { open_gguf_model(p); }, {"model.gguf", "llama.embedding_length is 0"});
}

// ---------------------------------------------------------------- real models

class RealGguf : public ::testing::TestWithParam<std::string> {};

TEST_P(RealGguf, MatchesGgufPyAndTransformers) {
  std::string why;
  const auto found = test_support::find_real_model(GetParam(), why);
  if (!found) GTEST_SKIP() << why;
  const fs::path path = *found;
  const json want = read_json(kFixtures / "real_models.json").at(GetParam());
  const auto file = GgufFile::open(path);
  const auto src = open_gguf_model(path);
  const json& cfg = src->config();
  for (const auto& [gguf_name, t] : want["tensors"].items()) {
    SCOPED_TRACE(gguf_name);
    const GgufTensorInfo* info = file->find_tensor(gguf_name);
    ASSERT_NE(info, nullptr);
    EXPECT_STREQ(ggml_type_name(info->type), t["type"].get<std::string>().c_str());
    const Tensor raw = file->dequantize(*info);
    EXPECT_EQ(checksum(raw), t["checksum"].get<std::vector<uint64_t>>());
    double sum = 0;
    for (int64_t i = 0; i < raw.numel(); ++i) sum += raw.data<float>()[i];
    EXPECT_NEAR(sum, t["sum"].get<double>(), 1e-6 * std::max(1.0, std::abs(sum)));
    const Tensor hf = src->load(t["hf_name"]);
    EXPECT_EQ(checksum(hf), t["hf_checksum"].get<std::vector<uint64_t>>());
  }
  if (want["architecture"] == "llama") {
    EXPECT_EQ(cfg["model_type"], "llama");
    EXPECT_EQ(cfg["hidden_size"], 576);
    EXPECT_EQ(cfg["intermediate_size"], 1536);
    EXPECT_EQ(cfg["num_hidden_layers"], 30);
    EXPECT_EQ(cfg["num_attention_heads"], 9);
    EXPECT_EQ(cfg["num_key_value_heads"], 3);
    EXPECT_EQ(cfg["head_dim"], 64);
    EXPECT_EQ(cfg["rope_theta"], 100000.0);
    EXPECT_EQ(cfg["rms_norm_eps"], 1e-5);
    EXPECT_EQ(cfg["vocab_size"], 49152);
    EXPECT_EQ(cfg["max_position_embeddings"], 8192);
    EXPECT_EQ(cfg["tie_word_embeddings"], true);
    EXPECT_FALSE(src->has_tensor("lm_head.weight"));
  } else {
    EXPECT_EQ(cfg["model_type"], "gemma3_text");
    EXPECT_EQ(cfg["architectures"], json::array({"Gemma3ForCausalLM"}));
    EXPECT_EQ(cfg["hidden_size"], 640);
    EXPECT_EQ(cfg["num_hidden_layers"], 18);
    EXPECT_EQ(cfg["num_attention_heads"], 4);
    EXPECT_EQ(cfg["num_key_value_heads"], 1);
    EXPECT_EQ(cfg["head_dim"], 256);
    EXPECT_EQ(cfg["query_pre_attn_scalar"], 256);
    EXPECT_EQ(cfg["sliding_window"], 512);
    EXPECT_EQ(cfg["rope_theta"], 1000000.0);
    EXPECT_EQ(cfg["rope_local_base_freq"], 10000.0);
    EXPECT_EQ(cfg["rms_norm_eps"], 1e-6);
    EXPECT_EQ(cfg["vocab_size"], 262144);
    EXPECT_EQ(cfg["hidden_activation"], "gelu_pytorch_tanh");
    EXPECT_TRUE(cfg["final_logit_softcapping"].is_null());
    EXPECT_EQ(cfg["bos_token_id"], 2);
    EXPECT_EQ(cfg["eos_token_id"], 1);
    const auto& types = cfg["layer_types"];
    ASSERT_EQ(types.size(), 18u);
    EXPECT_EQ(types[4], "sliding_attention");
    EXPECT_EQ(types[5], "full_attention");
    EXPECT_EQ(types[11], "full_attention");
    EXPECT_EQ(src->tensor_shape("model.layers.0.pre_feedforward_layernorm.weight"), (Shape{640}));
    EXPECT_TRUE(src->has_tensor("model.layers.3.post_feedforward_layernorm.weight"));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, RealGguf,
                         ::testing::Values("SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"),
                         [](const auto& info) { return info.param.substr(0, info.param.find('-')); });

}  // namespace
}  // namespace maca::io
