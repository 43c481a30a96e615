// libFuzzer harness for the GGUF reader and the GGUF -> HF ModelSource: the
// input is written to a temporary file and opened; on inputs the reader
// accepts, every metadata getter, every tensor's dequantization and the HF view
// (config, names, shapes, loads) are exercised. maca::Error is the expected
// outcome for damaged input; a crash, a sanitizer report or any other
// exception (MACA_ASSERT throws std::logic_error) is a finding.
// Seeds: tests/fuzz/corpus/gguf (written by tests/scripts/make_gguf_fixtures.py).
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "io/gguf.h"
#include "io/gguf_model.h"

namespace {

// Calls `f`, swallowing the errors damaged input is allowed to raise.
template <class F>
void tolerate(F&& f) {
  try {
    f();
  } catch (const maca::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path input =
      std::filesystem::temp_directory_path() / ("maca_fuzz_gguf_" + std::to_string(::getpid()) + ".gguf");
  {
    std::ofstream out(input, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::shared_ptr<maca::io::GgufFile> file;
  try {
    file = maca::io::GgufFile::open(input);
  } catch (const maca::Error&) {
    return 0;
  }
  for (const auto& entry : file->metadata()) {
    const std::string& key = entry.first;
    tolerate([&] { file->get_string(key); });
    tolerate([&] { file->get_int(key); });
    tolerate([&] { file->get_float(key); });
    tolerate([&] { file->get_bool(key); });
    tolerate([&] { file->get_string_array(key); });
    tolerate([&] { file->get_float_array(key); });
    tolerate([&] { file->get_int_array(key); });
  }
  for (const auto& info : file->tensors()) file->dequantize(info);  // validated on open: must not throw
  tolerate([&] {
    const auto model = maca::io::open_gguf_model(input);
    model->config().dump();
    for (const std::string& name : model->tensor_names()) {
      model->tensor_shape(name);
      tolerate([&] { model->load(name); });  // e.g. a q_proj whose rows do not split over the heads
    }
  });
  return 0;
}
