// GPTQ packing against the independent numpy packer of
// tests/scripts/make_gptq_export_fixtures.py (tests/fixtures/gptq/pack): the
// C++ unpacker recovers codes, zero points, scales and g_idx exactly, the C++
// packer reproduces qweight and qzeros byte for byte; plus the v1 zero
// convention and the packing constraint errors.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "gptq_test_util.h"
#include "io/gptq_pack.h"
#include "io/safetensors.h"

namespace maca::io {
namespace {

namespace fs = std::filesystem;
using test::expect_error;

const fs::path kPackDir = fs::path(MACA_FIXTURES) / "gptq" / "pack";

struct Case {
  std::string name;
  GptqSettings settings;
  bool act_order = false;
  int64_t rows = 0, cols = 0;
};

std::vector<Case> read_cases() {
  std::ifstream in(kPackDir / "cases.json");
  std::vector<Case> cases;
  for (const auto& j : nlohmann::json::parse(in)) {
    Case c;
    c.name = j.at("name");
    c.settings.bits = j.at("bits");
    c.settings.group_size = j.at("group_size");
    c.settings.sym = j.at("sym");
    c.settings.desc_act = c.act_order = j.at("act_order");
    c.settings.format = parse_gptq_format(j.at("checkpoint_format"), "cases.json");
    c.rows = j.at("rows");
    c.cols = j.at("cols");
    cases.push_back(c);
  }
  return cases;
}

template <class T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

class PackCases : public ::testing::Test {
 protected:
  std::shared_ptr<SafetensorsFile> file_ = SafetensorsFile::open(kPackDir / "cases.safetensors");
  std::vector<Case> cases_ = read_cases();

  GptqTensors stored(const std::string& c) const {
    return {file_->view(c + ".qweight"), file_->view(c + ".qzeros"), file_->view(c + ".scales"),
            file_->view(c + ".g_idx")};
  }
};

TEST_F(PackCases, CoverEveryBitWidthSymmetryAndOrder) { EXPECT_EQ(cases_.size(), 18u); }

TEST_F(PackCases, UnpackRecoversTheRawArrays) {
  for (const Case& c : cases_) {
    SCOPED_TRACE(c.name);
    const QuantizedLinear q = unpack_gptq_layer(stored(c.name), c.settings, c.name);
    EXPECT_EQ(q.rows, c.rows);
    EXPECT_EQ(q.cols, c.cols);
    EXPECT_EQ(q.act_order, c.act_order);
    EXPECT_EQ(q.codes, values<uint8_t>(file_->view(c.name + ".codes")));
    EXPECT_EQ(q.zeros, values<int32_t>(file_->view(c.name + ".zeros")));
    EXPECT_EQ(q.g_idx, values<int32_t>(file_->view(c.name + ".g_idx")));
    const Tensor scales = file_->view(c.name + ".scales").to_f32();
    EXPECT_EQ(q.scales, values<float>(scales));
    for (size_t i = 1; i < q.perm.size(); ++i) EXPECT_LE(q.g_idx[q.perm[i - 1]], q.g_idx[q.perm[i]]);
  }
}

TEST_F(PackCases, PackIsByteIdentical) {
  for (const Case& c : cases_) {
    SCOPED_TRACE(c.name);
    QuantizedLinear q;
    q.rows = c.rows, q.cols = c.cols, q.bits = c.settings.bits, q.group_size = c.settings.group_size;
    q.sym = c.settings.sym;
    q.codes = values<uint8_t>(file_->view(c.name + ".codes"));
    q.zeros = values<int32_t>(file_->view(c.name + ".zeros"));
    q.g_idx = values<int32_t>(file_->view(c.name + ".g_idx"));
    q.scales = values<float>(file_->view(c.name + ".scales").to_f32());
    const GptqTensors packed = pack_gptq_layer(q, c.settings.format, c.name);
    const GptqTensors want = stored(c.name);
    EXPECT_TRUE(same_bytes(packed.qweight, want.qweight));
    EXPECT_TRUE(same_bytes(packed.qzeros, want.qzeros));
    EXPECT_TRUE(same_bytes(packed.scales, want.scales));
    EXPECT_TRUE(same_bytes(packed.g_idx, want.g_idx));
  }
}

TEST(GptqPack, SymmetricFourBitV1ZerosAre0x77777777) {
  const std::vector<int32_t> zeros(4 * 64, 8);
  for (const int32_t word : pack_qzeros(zeros, 4, 64, 4, GptqFormat::V1, "l")) EXPECT_EQ(word, 0x77777777);
  for (const int32_t word : pack_qzeros(zeros, 4, 64, 4, GptqFormat::V2, "l"))
    EXPECT_EQ(static_cast<uint32_t>(word), 0x88888888u);
}

TEST(GptqPack, EveryWidthRoundTripsAllCodes) {
  for (const int bits : {2, 3, 4, 8}) {
    const int64_t rows = 32, cols = 64;
    std::vector<uint8_t> codes(rows * cols);
    for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>((i * 7 + i / 5) % (1u << bits));
    const std::vector<int32_t> packed = pack_qweight(codes, rows, cols, bits, "l");
    EXPECT_EQ(static_cast<int64_t>(packed.size()), cols * bits / 32 * rows);
    EXPECT_EQ(unpack_qweight(packed.data(), rows, cols, bits, "l"), codes) << bits << " bits";
  }
}

TEST(GptqPack, PackingConstraintsNameTheLayer) {
  const std::vector<uint8_t> codes(32 * 48, 1);
  expect_error<Error>([&] { pack_qweight(codes, 32, 48, 3, "model.layers.0.mlp.up_proj"); },
                      {"model.layers.0.mlp.up_proj", "in features K = 48", "multiple of 32"});
  expect_error<Error>([&] { pack_qweight(std::vector<uint8_t>(4 * 12, 1), 4, 12, 4, "lay"); },
                      {"lay", "K = 12", "multiple of 8"});
  expect_error<Error>([&] { pack_qzeros(std::vector<int32_t>(2 * 20, 1), 2, 20, 4, GptqFormat::V2, "lay"); },
                      {"lay", "out features N = 20"});
  expect_error<Error>([&] { pack_qweight(codes, 32, 48, 5, "lay"); }, {"lay", "5-bit"});
  expect_error<Error>([&] { pack_qweight(std::vector<uint8_t>(8 * 8, 16), 8, 8, 4, "lay"); },
                      {"lay", "code 16", "4 bits"});
}

TEST(GptqPack, V1CannotHoldZeroPointZero) {
  std::vector<int32_t> zeros(8, 3);
  zeros[5] = 0;
  expect_error<Error>([&] { pack_qzeros(zeros, 1, 8, 4, GptqFormat::V1, "lay"); }, {"lay", "zero point 0", "gptq_v2"});
  const std::vector<int32_t> v2 = pack_qzeros(zeros, 1, 8, 4, GptqFormat::V2, "lay");
  EXPECT_EQ(unpack_qzeros(v2.data(), 1, 8, 4, GptqFormat::V2, "lay"), zeros);
  // A stored 15 (what z - 1 mod 16 makes of z = 0) reads back as 16 in v1: rejected.
  const int32_t all_f = -1;
  expect_error<FileError>([&] { unpack_qzeros(&all_f, 1, 8, 4, GptqFormat::V1, "lay"); },
                          {"lay", "zero point 16", "gptq_v2"});
}

TEST(GptqPack, FormatNames) {
  EXPECT_EQ(parse_gptq_format("gptq", "x"), GptqFormat::V1);
  EXPECT_EQ(parse_gptq_format(gptq_format_name(GptqFormat::V2), "x"), GptqFormat::V2);
  expect_error<ConfigError>([] { parse_gptq_format("awq", "where"); }, {"where", "awq"});
}

}  // namespace
}  // namespace maca::io
