#include "io/model_source.h"

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "io/gguf_model.h"
#include "io/gptq_model.h"
#include "io/hf_model.h"

namespace maca::io {

namespace {

constexpr const char* kExpected =
    "expected an HF model directory (config.json + *.safetensors) or a .gguf file";

bool has_gguf_magic(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace

std::unique_ptr<ModelSource> open_model(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(path)) {
    if (!fs::is_regular_file(path / "config.json"))
      MACA_THROW(FileError, "directory '{}' has no config.json; {}", path.string(), kExpected);
    auto hf = open_hf_model(path);
    if (is_gptq_config(hf->config())) return open_gptq_model(path);
    return hf;
  }
  if (!fs::exists(path)) MACA_THROW(FileError, "model path '{}' does not exist; {}", path.string(), kExpected);
  if (fs::is_regular_file(path) && (path.extension() == ".gguf" || has_gguf_magic(path))) return open_gguf_model(path);
  MACA_THROW(FileError, "'{}' is neither a directory nor a GGUF file; {}", path.string(), kExpected);
}

}  // namespace maca::io
