// Run fingerprints: the same job matches, each kind of change gives exactly
// one message naming it, options that cannot change the result do not count.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "checkpoint/fingerprint.h"
#include "settings/options.h"
#include "io/io_test_util.h"

namespace maca::checkpoint {
namespace {

using test::expect_file_error;

TEST(Fnv1a, KnownVectors) {
  const auto fnv = [](std::string_view s) {
    Fnv1a h;
    h.update(s);
    return h.value();
  };
  EXPECT_EQ(fnv(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv("foobar"), 0x85944171f73967e8ULL);
  Fnv1a split;
  split.update("foo");
  split.update("bar");
  EXPECT_EQ(split.hex(), "85944171f73967e8");
}

class FingerprintTest : public test::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    weights_ = dir_ / "model.safetensors";
    // 10 MiB: larger than the two 4 MiB ends that are hashed.
    std::string bytes(10 << 20, '\0');
    std::mt19937 rng(1);
    for (char& c : bytes) c = static_cast<char>(rng());
    test::write_bytes(weights_, bytes);
    test::write_bytes(dir_ / "config.json", "{\"hidden_size\": 64}");
  }

  Fingerprint make(const config::Config& cfg, const std::string& calib = "00000000000000aa") const {
    return make_fingerprint(cfg, {dir_ / "config.json", weights_}, calib);
  }

  // Overwrites one byte of the weights file at `offset`.
  void poke(std::streamoff offset) const {
    std::fstream f(weights_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(offset);
    const char c = static_cast<char>(f.get() ^ 0x5a);
    f.seekp(offset);
    f.put(c);
  }

  config::Config cfg_{config::builtin_schema()};
  std::filesystem::path weights_;
};

// Exactly one difference, containing every part.
void expect_one_difference(const Fingerprint& a, const Fingerprint& b, std::initializer_list<std::string> parts) {
  const std::vector<std::string> diff = differences(a, b);
  ASSERT_EQ(diff.size(), 1u) << testing::PrintToString(diff);
  for (const std::string& part : parts) EXPECT_NE(diff[0].find(part), std::string::npos) << diff[0];
  EXPECT_NE(digest(a), digest(b));
}

TEST_F(FingerprintTest, SameJobHasNoDifferences) {
  const Fingerprint a = make(cfg_), b = make(cfg_);
  EXPECT_TRUE(differences(a, b).empty());
  EXPECT_EQ(digest(a), digest(b));
  EXPECT_EQ(digest(a).size(), 16u);
  for (const char* part : {"config", "model", "calib", "version"}) EXPECT_TRUE(a.parts.count(part)) << part;
}

TEST_F(FingerprintTest, ConfigKeyChangeIsNamed) {
  const Fingerprint a = make(cfg_);
  cfg_.set("quant.bits", "3", "test");
  expect_one_difference(a, make(cfg_), {"config differs: quant.bits was 4, now 3"});
}

TEST_F(FingerprintTest, OptionsThatCannotChangeTheResultDoNotCount) {
  const Fingerprint a = make(cfg_);
  cfg_.set("run.dir", "/elsewhere", "test");
  cfg_.set("run.threads", "3", "test");
  cfg_.set("eval.ctx", "512", "test");
  cfg_.set("export.fake_quant", "false", "test");
  cfg_.set("inspect.tensors", "true", "test");
  cfg_.set("calib.batch_tokens", "4096", "test");  // memory bounds: the same bytes in any batching
  cfg_.set("calib.max_resident_gb", "2", "test");
  cfg_.set("calib.overflow", "bf16", "test");
  EXPECT_TRUE(differences(a, make(cfg_)).empty());
  EXPECT_EQ(a.parts.at("config").items.count("run.dir"), 0u);
  EXPECT_EQ(a.parts.at("config").items.count("calib.seed"), 1u);
}

TEST_F(FingerprintTest, DerivedConfigItemCountsAndIsNamed) {
  Fingerprint a = make(cfg_), b = make(cfg_);
  add_config_item(a, "calibration streams between blocks", "f32");
  add_config_item(b, "calibration streams between blocks", "f32");
  EXPECT_TRUE(differences(a, b).empty());
  EXPECT_EQ(digest(a), digest(b));
  add_config_item(b, "calibration streams between blocks", "bf16");
  expect_one_difference(a, b, {"config differs: calibration streams between blocks was f32, now bf16"});
}

TEST_F(FingerprintTest, ModelSizeChangeIsNamed) {
  const Fingerprint a = make(cfg_);
  std::ofstream(weights_, std::ios::binary | std::ios::app) << "more";
  expect_one_difference(a, make(cfg_), {"model file model.safetensors: size was 10485760, now 10485764"});
}

TEST_F(FingerprintTest, ModelContentChangeAtEitherEndIsNamed) {
  const Fingerprint a = make(cfg_);
  poke(1000);
  expect_one_difference(a, make(cfg_), {"model file model.safetensors: content differs"});
  poke(1000);
  EXPECT_TRUE(differences(a, make(cfg_)).empty());
  poke((10 << 20) - 1);
  expect_one_difference(a, make(cfg_), {"model file model.safetensors: content differs"});
}

TEST_F(FingerprintTest, ModelMiddleIsNotRead) {
  const Fingerprint a = make(cfg_);
  poke(5 << 20);  // between the hashed 4 MiB ends: by design not seen
  EXPECT_TRUE(differences(a, make(cfg_)).empty());
}

TEST_F(FingerprintTest, MissingModelFileIsAFileError) {
  expect_file_error([&] { make_fingerprint(cfg_, {dir_ / "absent.safetensors"}, "x"); }, {"absent.safetensors"});
}

TEST_F(FingerprintTest, CalibrationChangeIsNamed) {
  const std::vector<int32_t> tokens = {1, 2, 3, 4};
  const std::vector<float> weights = {1, 1, 0.5f, 0.25f};
  const std::string h = hash_calibration(tokens, weights);
  EXPECT_EQ(h, hash_calibration(tokens, weights));
  EXPECT_NE(h, hash_calibration(std::vector<int32_t>{1, 2, 3, 5}, weights));
  EXPECT_NE(h, hash_calibration(tokens, std::vector<float>{1, 1, 0.5f, 0.125f}));
  EXPECT_NE(h, hash_calibration(std::vector<int32_t>{1, 2, 3}, std::vector<float>{1, 1, 0.5f, 0.25f, 0.25f}));
  expect_one_difference(make(cfg_, h), make(cfg_, hash_calibration(std::vector<int32_t>{1, 2, 3, 5}, weights)),
                        {"calibration set differs"});
}


TEST_F(FingerprintTest, VersionChangeIsNamed) {
  const Fingerprint a = make(cfg_);
  Fingerprint b = a;
  b.parts["version"] = {"0000000000000001", "9.9.9", {}};
  expect_one_difference(a, b, {"maca version was", "now 9.9.9"});
}

TEST_F(FingerprintTest, JsonRoundTrip) {
  const Fingerprint a = make(cfg_);
  const Fingerprint b = from_json(to_json(a));
  EXPECT_TRUE(differences(a, b).empty());
  EXPECT_EQ(to_json(a), to_json(b));
  EXPECT_EQ(b.parts.at("config").items.at("quant.bits"), "4");
}

TEST_F(FingerprintTest, WrittenAndReadBack) {
  EXPECT_FALSE(read_fingerprint(dir_ / "run").has_value());
  const Fingerprint a = make(cfg_);
  write_fingerprint(dir_ / "run", a);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "run" / "fingerprint.tmp"));
  const std::optional<Fingerprint> b = read_fingerprint(dir_ / "run");
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(differences(a, *b).empty());
}

TEST_F(FingerprintTest, DamagedFileIsAFileError) {
  const std::filesystem::path file = dir_ / "fingerprint";
  for (const std::string text : {"", "{not json", "[1, 2]", "{\"format_version\": 2, \"parts\": {}}",
                                 "{\"format_version\": 1, \"parts\": {\"model\": {\"hash\": 3}}}"}) {
    SCOPED_TRACE(text);
    test::write_bytes(file, text);
    expect_file_error([&] { read_fingerprint(dir_); }, {file.string()});
  }
}

}  // namespace
}  // namespace maca::checkpoint
