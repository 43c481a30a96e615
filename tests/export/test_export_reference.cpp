// Byte-for-byte stability of the exporters. The expected hashes below were
// recorded with the exporter that assembled the whole model in memory (before
// the streaming writer replaced it); the layers come from the portable
// generator in export_test_layers.h, so the bytes do not depend on the
// standard library. A change here means every exported checkpoint changes:
// update the hashes only on purpose.
#include <gtest/gtest.h>

#include <fstream>

#include "export_test_layers.h"
#include "gptq_test_util.h"
#include "io/gptq_export.h"
#include "io/model_source.h"

namespace maca::io {
namespace {

namespace fs = std::filesystem;

const fs::path kLlama = fs::path(MACA_FIXTURES) / "model" / "llama";

// FNV-1a, 64 bit.
uint64_t file_hash(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  uint64_t h = 0xCBF29CE484222325ull;
  for (char c; in.get(c);) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001B3ull;
  return h;
}

struct Case {
  const char* name;
  int bits;
  int64_t group;
  bool sym, act_order;
  bool fake;               // fake-quant export instead of GPTQ
  DType dtype;             // tensors that are not quantized (fake: every tensor)
  uint64_t model, config;  // hashes of model.safetensors and config.json
};

class ExportReference : public test::TempDirTest, public ::testing::WithParamInterface<Case> {};

TEST_P(ExportReference, BytesEqualTheInMemoryExporter) {
  const Case& c = GetParam();
  const auto source = open_model(kLlama);
  const auto layers = test::fixture_layers(*source, c.bits, c.group, c.sym, c.act_order);
  if (c.fake) {
    write_fake_quant_checkpoint(*source, layers, dir_, c.dtype);
  } else {
    GptqExportOptions options;
    options.dtype = c.dtype;
    options.version = "9.9.9";
    write_gptq_checkpoint(*source, layers, dir_, options);
  }
  EXPECT_EQ(file_hash(dir_ / "model.safetensors"), c.model) << std::hex << file_hash(dir_ / "model.safetensors");
  EXPECT_EQ(file_hash(dir_ / "config.json"), c.config) << std::hex << file_hash(dir_ / "config.json");
}

INSTANTIATE_TEST_SUITE_P(Recorded, ExportReference,
                         ::testing::Values(Case{"gptq_b4_sym_g16", 4, 16, true, false, false, DType::F16,
                                                0xfa44fd0ba2e8b8a5ull, 0xf2b06c9abf3918b4ull},
                                           Case{"gptq_b3_asym_actorder_g32", 3, 32, false, true, false, DType::F16,
                                                0x350820d5b70f0f94ull, 0x5e78f24c0cedfe24ull},
                                           Case{"gptq_b8_asym_g1_f32", 8, -1, false, false, false, DType::F32,
                                                0x09a35c9ce5e9268eull, 0x18a273ed2d96e519ull},
                                           Case{"gptq_b2_sym_actorder_g16_bf16", 2, 16, true, true, false, DType::BF16,
                                                0x98addf97106b8665ull, 0x43386b925bf5a1cdull},
                                           Case{"fake_b4_sym_g16_f32", 4, 16, true, false, true, DType::F32,
                                                0x95fc51881cf0bd65ull, 0x3e360f857b551ff8ull},
                                           Case{"fake_b3_asym_actorder_bf16", 3, 32, false, true, true, DType::BF16,
                                                0x5289709a7718218full, 0x6ce4bb60ec5aa2f0ull}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace maca::io
