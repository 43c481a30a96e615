// make_synthetic_llama: a LLaMA-shaped HF model directory with random weights,
// so runs at real shapes (e.g. 70B blocks) need no download.
//
// usage: make_synthetic_llama --out DIR [--hidden 8192] [--intermediate 28672]
//          [--heads 64] [--kv-heads 8] [--layers 2] [--vocab 32000] [--seed 0]
//          [--dtype bf16|f16|f32] [--calib-tokens FILE.tokens --calib-count N]
// Defaults are Llama-2-70B's shapes with 2 blocks.
//
// Output: config.json (LlamaForCausalLM, untied embeddings, rope_theta 1e4,
// rms_norm_eps 1e-5), one safetensors shard per block plus one for
// embed_tokens / norm / lm_head, and model.safetensors.index.json. Linear and
// embedding weights are N(0, 0.02²), norm weights 1. Value i of tensor T is a
// function of (seed, T, i) alone (counter-based splitmix64 + Box-Muller), so
// tensors are generated in parallel and written one at a time: memory stays
// at one tensor.
//
// There is no tokenizer. Calibrate from pre-tokenized ids instead:
// --calib-tokens FILE.tokens --calib-count N also writes N random ids below
// vocab as raw little-endian int32 (what calib.data reads from a .tokens file),
// then e.g.
//   maca quantize -c configs/gptq-w4g128.yaml --set model.path=DIR
//     --set calib.data=FILE.tokens --set eval.fp=false --set eval.quantized=false
// Evaluation needs a tokenizer, and the export warns that it has none to copy.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include "calib/token_source.h"
#include "core/error.h"
#include "core/half.h"
#include "core/timer.h"
#include "io/model_writer.h"
#include "io/safetensors.h"

using namespace maca;
namespace fs = std::filesystem;

namespace {

struct Options {
  fs::path out;
  int64_t hidden = 8192, intermediate = 28672, heads = 64, kv_heads = 8, layers = 2, vocab = 32000;
  uint64_t seed = 0;
  DType dtype = DType::BF16;
  fs::path calib_tokens;
  int64_t calib_count = 0;
};

[[noreturn]] void usage_error(const std::string& what) {
  MACA_THROW(ConfigError,
             "{}\nusage: make_synthetic_llama --out DIR [--hidden 8192] [--intermediate 28672] [--heads 64] "
             "[--kv-heads 8] [--layers 2] [--vocab 32000] [--seed 0] [--dtype bf16|f16|f32] "
             "[--calib-tokens FILE.tokens --calib-count N]",
             what);
}

int64_t integer(const std::string& flag, const std::string& value, int64_t min) {
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(value, &used);
  } catch (const std::exception&) {
  }
  if (used != value.size() || v < min)
    usage_error(fmt::format("{} needs an integer >= {}, got '{}'", flag, min, value));
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  const std::map<std::string, int64_t*> sizes = {{"--hidden", &o.hidden},
                                                 {"--intermediate", &o.intermediate},
                                                 {"--heads", &o.heads},
                                                 {"--kv-heads", &o.kv_heads},
                                                 {"--layers", &o.layers},
                                                 {"--vocab", &o.vocab},
                                                 {"--calib-count", &o.calib_count}};
  const std::map<std::string, DType> dtypes = {{"bf16", DType::BF16}, {"f16", DType::F16}, {"f32", DType::F32}};
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage_error(fmt::format("{} needs a value", flag));
    const std::string value = argv[i + 1];
    if (sizes.count(flag)) {
      *sizes.at(flag) = integer(flag, value, 1);
    } else if (flag == "--out") {
      o.out = value;
    } else if (flag == "--calib-tokens") {
      o.calib_tokens = value;
    } else if (flag == "--seed") {
      o.seed = static_cast<uint64_t>(integer(flag, value, 0));
    } else if (flag == "--dtype") {
      if (!dtypes.count(value)) usage_error(fmt::format("--dtype is bf16, f16 or f32, not '{}'", value));
      o.dtype = dtypes.at(value);
    } else {
      usage_error(fmt::format("unknown option '{}'", flag));
    }
  }
  if (o.out.empty()) usage_error("--out DIR is required");
  if (o.hidden % o.heads != 0 || (o.hidden / o.heads) % 2 != 0)
    usage_error(fmt::format("--hidden {} must be --heads {} times an even head_dim", o.hidden, o.heads));
  if (o.heads % o.kv_heads != 0)
    usage_error(fmt::format("--heads {} must be a multiple of --kv-heads {}", o.heads, o.kv_heads));
  if (o.calib_tokens.empty() != (o.calib_count == 0)) usage_error("--calib-tokens and --calib-count go together");
  if (!o.calib_tokens.empty() && !calib::is_token_file(o.calib_tokens))
    usage_error(fmt::format("--calib-tokens '{}' must end in .tokens or .i32, the extensions maca reads as raw ids",
                            o.calib_tokens.string()));
  return o;
}

uint64_t mix(uint64_t z) {  // splitmix64 finalizer
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t tensor_key(uint64_t seed, const std::string& name) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a of the name
  for (const char c : name) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001B3ull;
  return mix(seed * 0x9E3779B97F4A7C15ull ^ h);
}

uint16_t to_half(float v, DType dtype) { return dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v); }

// Values [begin, end) (begin even) of a N(0, std²) tensor keyed by `key`:
// values 2p and 2p+1 are the Box-Muller pair of counter p.
void fill_normal(uint64_t key, float stddev, int64_t begin, int64_t end, DType dtype, void* out) {
  for (int64_t i = begin; i < end; i += 2) {
    const uint64_t z = mix(key + static_cast<uint64_t>(i / 2) * 0x9E3779B97F4A7C15ull);
    const float u1 = static_cast<float>((z >> 40) + 1) * 0x1p-24f;  // (0, 1]
    const float u2 = static_cast<float>((z >> 16) & 0xFFFFFF) * 0x1p-24f;
    const float r = stddev * std::sqrt(-2.0f * std::log(u1));
    const float a = 2.0f * std::numbers::pi_v<float> * u2;
    const float v[2] = {r * std::cos(a), r * std::sin(a)};
    for (int64_t j = i; j < std::min(i + 2, end); ++j) {
      if (dtype == DType::F32)
        static_cast<float*>(out)[j] = v[j - i];
      else
        static_cast<uint16_t*>(out)[j] = to_half(v[j - i], dtype);
    }
  }
}

Tensor make_tensor(const io::SafetensorsEntry& e, uint64_t seed) {
  Tensor t = Tensor::empty(e.shape, e.dtype);
  const int64_t n = t.numel();
  if (e.shape.size() == 1) {  // RMSNorm weights
    for (int64_t i = 0; i < n; ++i)
      if (e.dtype == DType::F32)
        t.data<float>()[i] = 1.0f;
      else
        t.data<uint16_t>()[i] = to_half(1.0f, e.dtype);
    return t;
  }
  const uint64_t key = tensor_key(seed, e.name);
  const int64_t threads = std::max(1u, std::thread::hardware_concurrency());
  const int64_t chunk = (n / threads + 1) / 2 * 2;  // even, so every pair stays in one thread
  std::vector<std::thread> pool;
  for (int64_t begin = 0; begin < n; begin += chunk)
    pool.emplace_back(fill_normal, key, 0.02f, begin, std::min(begin + chunk, n), e.dtype, t.raw());
  for (std::thread& th : pool) th.join();
  return t;
}

nlohmann::json llama_config(const Options& o) {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"hidden_size", o.hidden},
          {"intermediate_size", o.intermediate},
          {"num_attention_heads", o.heads},
          {"num_key_value_heads", o.kv_heads},
          {"head_dim", o.hidden / o.heads},
          {"num_hidden_layers", o.layers},
          {"vocab_size", o.vocab},
          {"hidden_act", "silu"},
          {"max_position_embeddings", 4096},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          {"rope_scaling", nullptr},
          {"tie_word_embeddings", false},
          {"attention_bias", false},
          {"mlp_bias", false},
          {"initializer_range", 0.02},
          {"bos_token_id", 1},
          {"eos_token_id", 2},
          {"torch_dtype", o.dtype == DType::BF16  ? "bfloat16"
                          : o.dtype == DType::F16 ? "float16"
                                                  : "float32"},
          {"use_cache", true}};
}

// The tensors of each shard: one per block, then embeddings, final norm and lm_head.
std::vector<std::vector<io::SafetensorsEntry>> shard_entries(const Options& o) {
  const int64_t h = o.hidden, d = o.hidden / o.heads, q = o.heads * d, kv = o.kv_heads * d, inter = o.intermediate;
  std::vector<std::vector<io::SafetensorsEntry>> shards;
  for (int64_t b = 0; b < o.layers; ++b) {
    const std::string p = fmt::format("model.layers.{}.", b);
    shards.push_back({{p + "input_layernorm.weight", o.dtype, {h}},
                      {p + "mlp.down_proj.weight", o.dtype, {h, inter}},
                      {p + "mlp.gate_proj.weight", o.dtype, {inter, h}},
                      {p + "mlp.up_proj.weight", o.dtype, {inter, h}},
                      {p + "post_attention_layernorm.weight", o.dtype, {h}},
                      {p + "self_attn.k_proj.weight", o.dtype, {kv, h}},
                      {p + "self_attn.o_proj.weight", o.dtype, {h, q}},
                      {p + "self_attn.q_proj.weight", o.dtype, {q, h}},
                      {p + "self_attn.v_proj.weight", o.dtype, {kv, h}}});
  }
  shards.push_back({{"lm_head.weight", o.dtype, {o.vocab, h}},
                    {"model.embed_tokens.weight", o.dtype, {o.vocab, h}},
                    {"model.norm.weight", o.dtype, {h}}});
  return shards;
}

void write_calib_tokens(const Options& o) {
  std::vector<int32_t> ids(static_cast<size_t>(o.calib_count));
  const uint64_t key = tensor_key(o.seed, "calib_tokens");
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<int32_t>(mix(key + i * 0x9E3779B97F4A7C15ull) % static_cast<uint64_t>(o.vocab));
  std::ofstream out(o.calib_tokens, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * sizeof(int32_t)));
  if (!out) MACA_THROW(FileError, "cannot write '{}'; check the path and free disk space", o.calib_tokens.string());
}

void run(const Options& o) {
  const Timer timer;
  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) MACA_THROW(FileError, "cannot create '{}': {}", o.out.string(), ec.message());

  const auto shards = shard_entries(o);
  nlohmann::json weight_map = nlohmann::json::object();
  uint64_t total = 0;
  for (size_t k = 0; k < shards.size(); ++k) {
    const std::string file = fmt::format("model-{:05d}-of-{:05d}.safetensors", k + 1, shards.size());
    io::SafetensorsWriter writer(o.out / file, shards[k]);
    for (const io::SafetensorsEntry& e : shards[k]) {
      writer.write(e.name, make_tensor(e, o.seed));
      weight_map[e.name] = file;
      total += e.nbytes();
    }
    writer.commit();
    std::printf("%s: %zu tensors, %.2f s\n", file.c_str(), shards[k].size(), timer.seconds());
    std::fflush(stdout);
  }
  io::write_file_atomic(
      o.out / "model.safetensors.index.json",
      nlohmann::json{{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}}.dump(2) + "\n");
  io::write_file_atomic(o.out / "config.json", llama_config(o).dump(2) + "\n");
  if (!o.calib_tokens.empty()) write_calib_tokens(o);
  std::printf("wrote %s: %lld blocks, %.3f GB of weights in %.1f s\n", o.out.string().c_str(),
              static_cast<long long>(o.layers), static_cast<double>(total) / 1e9, timer.seconds());
}

}  // namespace

int main(int argc, char** argv) {
  std::string command = argv[0];
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  std::printf("%s\n", command.c_str());
  try {
    run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_synthetic_llama: %s\n", e.what());
    return 1;
  }
  return 0;
}
