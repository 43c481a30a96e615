// safetensors writer/reader: round trips for every dtype, and damaged files
// that must fail with a FileError naming the file and tensor.
#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/half.h"
#include "io_test_util.h"

namespace maca::io {
namespace {

using test::expect_file_error;
using test::raw_safetensors;
using test::write_bytes;

class SafetensorsTest : public test::TempDirTest {
 protected:
  std::filesystem::path file(const std::string& name = "t.safetensors") const { return dir_ / name; }

  // Writes `header` + `data_bytes` bytes as t.safetensors and opens it.
  std::shared_ptr<SafetensorsFile> open_raw(const std::string& header, size_t data_bytes) {
    write_bytes(file(), raw_safetensors(header, data_bytes));
    return SafetensorsFile::open(file());
  }
  void expect_damaged(const std::string& header, size_t data_bytes, std::initializer_list<std::string> parts) {
    write_bytes(file(), raw_safetensors(header, data_bytes));
    std::vector<std::string> all{"t.safetensors"};
    all.insert(all.end(), parts);
    try {
      SafetensorsFile::open(file());
      ADD_FAILURE() << "expected maca::FileError for header " << header;
    } catch (const FileError& e) {
      for (const std::string& part : all)
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << "'" << part << "' not in: " << e.what();
    }
  }
};

// Bytes 0, 1, 2, ... so every element differs.
Tensor pattern(Shape shape, DType dt) {
  Tensor t = Tensor::empty(std::move(shape), dt);
  auto* p = static_cast<uint8_t*>(t.raw());
  for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<uint8_t>(i * 7 + 3);
  return t;
}

TEST_F(SafetensorsTest, RoundTripEveryDtype) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::I32, DType::I8, DType::U8})
    tensors.emplace_back(std::string("w.") + dtype_name(dt), pattern({3, 5}, dt));
  tensors.emplace_back("scalar", pattern({}, DType::F32));
  tensors.emplace_back("empty", pattern({0, 4}, DType::BF16));
  write_safetensors(file(), tensors, {{"producer", "maca"}});
  EXPECT_FALSE(std::filesystem::exists(file().string() + ".tmp"));

  const auto f = SafetensorsFile::open(file());
  ASSERT_EQ(f->names().size(), tensors.size());
  EXPECT_EQ(f->metadata().at("format"), "pt");
  EXPECT_EQ(f->metadata().at("producer"), "maca");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, want] = tensors[i];
    EXPECT_EQ(f->names()[i], name);  // data order is write order
    const Tensor got = f->view(name);
    EXPECT_EQ(got.dtype(), want.dtype()) << name;
    EXPECT_EQ(got.shape(), want.shape()) << name;
    EXPECT_EQ(f->info(name).shape, want.shape()) << name;
    ASSERT_EQ(got.nbytes(), want.nbytes()) << name;
    EXPECT_EQ(std::memcmp(got.raw(), want.raw(), want.nbytes()), 0) << name;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(got.raw()) % dtype_size(got.dtype()), 0u) << name << " is misaligned";
  }
}

TEST_F(SafetensorsTest, ReleasedPagesReadBackUnchanged) {
  // Large enough to span several pages; release drops them from the resident
  // set only, so views (old and new) still read the file's bytes.
  const Tensor big = pattern({3000, 7}, DType::F32), small = pattern({5}, DType::BF16);
  write_safetensors(file(), {{"big", big}, {"small", small}});
  const auto f = SafetensorsFile::open(file());
  const Tensor before = f->view("big");
  f->release("big");
  f->release("small");
  EXPECT_EQ(std::memcmp(before.raw(), big.raw(), big.nbytes()), 0);
  EXPECT_EQ(std::memcmp(f->view("big").raw(), big.raw(), big.nbytes()), 0);
  EXPECT_EQ(std::memcmp(f->view("small").raw(), small.raw(), small.nbytes()), 0);
}

TEST_F(SafetensorsTest, FormatPtOverridesCallerMetadata) {
  write_safetensors(file(), {{"a", pattern({2}, DType::F32)}}, {{"format", "tf"}});
  EXPECT_EQ(SafetensorsFile::open(file())->metadata().at("format"), "pt");
}

TEST_F(SafetensorsTest, OverwritesExistingFile) {
  write_safetensors(file(), {{"a", pattern({2}, DType::F32)}});
  write_safetensors(file(), {{"b", pattern({4}, DType::U8)}});
  const auto f = SafetensorsFile::open(file());
  EXPECT_FALSE(f->contains("a"));
  EXPECT_TRUE(f->contains("b"));
}

TEST_F(SafetensorsTest, WriteErrorNamesPath) {
  const auto target = dir_ / "no_such_dir" / "x.safetensors";
  expect_file_error([&] { write_safetensors(target, {{"a", pattern({2}, DType::F32)}}); },
                    {"x.safetensors.tmp", "No such file"});
}

TEST_F(SafetensorsTest, UnalignedDataIsCopied) {
  // 7-byte padding-free header puts the data at file offset 8 + len, not a multiple of 4.
  const std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_NE((8 + header.size()) % 4, 0u);
  std::string bytes = raw_safetensors(header, 0);
  const float vals[2] = {1.5f, -2.25f};
  bytes.append(reinterpret_cast<const char*>(vals), 8);
  write_bytes(file(), bytes);
  const Tensor t = SafetensorsFile::open(file())->view("x");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 4, 0u);
  EXPECT_EQ(t.data<float>()[0], 1.5f);
  EXPECT_EQ(t.data<float>()[1], -2.25f);
}

TEST_F(SafetensorsTest, UnsupportedDtypeListedButNotViewable) {
  const auto f = open_raw(R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},)"
                          R"("m":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]}})",
                          19);
  EXPECT_EQ(f->info("ids").dtype, "I64");
  EXPECT_FALSE(f->info("ids").maca_dtype().has_value());
  expect_file_error([&] { f->view("ids"); }, {"t.safetensors", "'ids'", "I64"});
  expect_file_error([&] { f->view("m"); }, {"t.safetensors", "'m'", "BOOL"});
}

TEST_F(SafetensorsTest, MissingTensorNamesFileAndTensor) {
  write_safetensors(file(), {{"a", pattern({2}, DType::F32)}});
  const auto f = SafetensorsFile::open(file());
  expect_file_error([&] { f->info("nope"); }, {"t.safetensors", "'nope'"});
  expect_file_error([&] { f->view("nope"); }, {"t.safetensors", "'nope'"});
}

TEST_F(SafetensorsTest, TruncatedFile) {
  write_safetensors(file(), {{"weight", pattern({4, 4}, DType::F32)}});
  std::filesystem::resize_file(file(), std::filesystem::file_size(file()) - 4);
  expect_file_error([&] { SafetensorsFile::open(file()); }, {"t.safetensors", "'weight'", "past the end"});
  std::filesystem::resize_file(file(), 5);
  expect_file_error([&] { SafetensorsFile::open(file()); }, {"t.safetensors", "shorter than the 8-byte"});
}

TEST_F(SafetensorsTest, EmptyFile) {
  write_bytes(file(), "");
  expect_file_error([&] { SafetensorsFile::open(file()); }, {"t.safetensors", "0 bytes"});
}

TEST_F(SafetensorsTest, HeaderLengthPastEndOfFile) {
  std::string bytes = raw_safetensors(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1);
  const uint64_t huge = 1ull << 40;
  std::memcpy(bytes.data(), &huge, 8);
  write_bytes(file(), bytes);
  expect_file_error([&] { SafetensorsFile::open(file()); }, {"t.safetensors", "header length", "past the end"});
}

TEST_F(SafetensorsTest, HeaderNotJson) {
  expect_damaged(R"({"a": {"dtype": "F32", "shape": [1], )", 4, {"not valid JSON"});
  expect_damaged("\xff\xfe garbage", 0, {"not valid JSON"});
  expect_damaged(R"({"a":{"dtype":"U8","shape":[1e400]}})", 0, {"not valid JSON"});  // found by fuzzing
}

TEST_F(SafetensorsTest, HeaderNotObject) {
  expect_damaged("[1, 2]", 0, {"not a JSON object"});
  expect_damaged(R"({"a": 3})", 0, {"'a'", "not a JSON object"});
}

TEST_F(SafetensorsTest, MalformedEntries) {
  expect_damaged(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", 4, {"'a'", "dtype"});
  expect_damaged(R"({"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})", 4, {"'a'", "shape"});
  expect_damaged(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, {"'a'", "non-negative"});
  expect_damaged(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4, {"'a'", "non-negative"});
  expect_damaged(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4, {"'a'", "data_offsets"});
  expect_damaged(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4, {"'a'", "begin <= end"});
  expect_damaged(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}})", 4,
                 {"'a'", "overflow"});
  expect_damaged(R"({"__metadata__":{"format":1}})", 0, {"__metadata__", "'format'"});
  expect_damaged(R"({"__metadata__":[]})", 0, {"__metadata__"});
}

TEST_F(SafetensorsTest, OffsetsOutOfRange) {
  expect_damaged(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8, {"'w'", "past the end"});
  expect_damaged(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[100,104]}})", 8, {"'w'", "past the end"});
}

TEST_F(SafetensorsTest, OverlappingTensors) {
  expect_damaged(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                 12, {"'a'", "'b'", "overlap"});
}

TEST_F(SafetensorsTest, SizeNotMatchingShape) {
  expect_damaged(R"({"w":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}})", 8, {"'w'", "needs 6"});
}

TEST_F(SafetensorsTest, UnknownDtype) {
  expect_damaged(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,1]}})", 1, {"'w'", "unknown dtype 'Q4'"});
}

TEST_F(SafetensorsTest, ZeroSizeTensorsMayShareOffsets) {
  const auto f = open_raw(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                          R"("b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                          R"("c":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})",
                          4);
  EXPECT_EQ(f->names().size(), 3u);
  EXPECT_EQ(f->view("a").numel(), 0);
}

}  // namespace
}  // namespace maca::io
