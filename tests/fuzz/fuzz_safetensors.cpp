// libFuzzer harness for the safetensors reader (and, on inputs it accepts, the
// writer): the input is written to a temporary file and opened. maca::Error is
// the expected outcome for damaged input; a crash, a sanitizer report, any
// other exception (MACA_ASSERT throws std::logic_error) or a reader/writer
// round trip that changes a tensor is a finding.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "io/safetensors.h"

namespace {

std::filesystem::path temp_file(const char* stem) {
  return std::filesystem::temp_directory_path() /
         (std::string("maca_fuzz_") + stem + "_" + std::to_string(::getpid()) + ".safetensors");
}

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_safetensors: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::filesystem::path input = temp_file("in");
  static const std::filesystem::path output = temp_file("out");
  {
    std::ofstream out(input, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  using maca::io::SafetensorsFile;
  std::shared_ptr<SafetensorsFile> file;
  try {
    file = SafetensorsFile::open(input);
  } catch (const maca::Error&) {
    return 0;
  }
  std::vector<std::pair<std::string, maca::Tensor>> viewable;
  for (const std::string& name : file->names()) {
    try {
      maca::Tensor t = file->view(name);
      t.to_f32();  // touches every byte
      viewable.emplace_back(name, t);
    } catch (const maca::Error&) {  // dtype maca does not load
    }
  }
  // Round trip: what the reader accepted, the writer must reproduce.
  maca::io::write_safetensors(output, viewable, file->metadata());
  const auto again = SafetensorsFile::open(output);
  check(again->names().size() == viewable.size(), "round trip changed the tensor count");
  for (const auto& [name, t] : viewable) {
    const maca::Tensor u = again->view(name);
    check(u.dtype() == t.dtype() && u.shape() == t.shape(), "round trip changed a dtype or shape");
    check(std::memcmp(u.raw(), t.raw(), t.nbytes()) == 0, "round trip changed tensor data");
  }
  check(again->metadata().at("format") == "pt", "written file lacks format: pt");
  return 0;
}
