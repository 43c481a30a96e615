// open_model dispatch: HF directory, GGUF file (by extension or magic), and
// the errors for anything else.
#include "io/model_source.h"

#include <gtest/gtest.h>

#include "io/safetensors.h"
#include "io_test_util.h"

namespace maca::io {
namespace {

using test::expect_file_error;
using test::write_bytes;

class OpenModelTest : public test::TempDirTest {};

TEST_F(OpenModelTest, HfDirectory) {
  write_bytes(dir_ / "config.json", R"({"model_type": "qwen2"})");
  write_safetensors(dir_ / "model.safetensors", {{"w", Tensor::zeros({2, 3})}});
  const auto m = open_model(dir_);
  EXPECT_EQ(m->tensor_names(), std::vector<std::string>{"w"});
  EXPECT_EQ(m->tensor_shape("w"), (Shape{2, 3}));
}

TEST_F(OpenModelTest, DirectoryWithoutConfig) {
  write_safetensors(dir_ / "model.safetensors", {{"w", Tensor::zeros({2})}});
  expect_file_error([&] { open_model(dir_); }, {dir_.string(), "config.json", ".gguf"});
}

TEST_F(OpenModelTest, GgufByExtensionOrMagic) {
  write_bytes(dir_ / "m.gguf", "not really gguf");
  expect_file_error([&] { open_model(dir_ / "m.gguf"); }, {"GGUF", "m.gguf"});
  write_bytes(dir_ / "model.bin", std::string("GGUF\x03\0\0\0", 8));
  expect_file_error([&] { open_model(dir_ / "model.bin"); }, {"GGUF", "model.bin"});
}

TEST_F(OpenModelTest, OtherFile) {
  write_safetensors(dir_ / "model.safetensors", {{"w", Tensor::zeros({2})}});
  expect_file_error([&] { open_model(dir_ / "model.safetensors"); }, {"model.safetensors", "HF model directory"});
}

TEST_F(OpenModelTest, MissingPath) {
  expect_file_error([&] { open_model(dir_ / "nope"); }, {"nope", "does not exist"});
}

}  // namespace
}  // namespace maca::io
