// Test tool for tests/scripts/make_hf_tokenizer_fixtures.py (not a test itself):
//   write_hf_tokenizer MODEL.gguf OUT_DIR [TEXTS_JSON]
// writes the HF tokenizer files maca's export writes for MODEL.gguf into
// OUT_DIR and, with TEXTS_JSON ({"name": "text", ...}), OUT_DIR/maca_ids.json:
// {"name": {"ids": [...], "ids_special": [...]}} from maca's GGUF tokenizer.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "io/model_writer.h"
#include "tokenizer/hf_tokenizer_writer.h"
#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  using namespace maca;
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: write_hf_tokenizer MODEL.gguf OUT_DIR [TEXTS_JSON]\n";
    return 2;
  }
  try {
    const std::filesystem::path out_dir = argv[2];
    std::filesystem::create_directories(out_dir);
    const auto gguf = io::GgufFile::open(argv[1]);
    for (const auto& [name, content] : tokenizer::hf_tokenizer_files(*gguf))
      io::write_file_atomic(out_dir / name, content);
    if (argc == 4) {
      std::ifstream in(argv[3]);
      const nlohmann::json texts = nlohmann::json::parse(in);
      const tokenizer::Tokenizer tok = tokenizer::Tokenizer::from_gguf(*gguf);
      nlohmann::json ids = nlohmann::json::object();
      for (const auto& [name, text] : texts.items())
        ids[name] = {{"ids", tok.encode(text.get<std::string>(), false)},
                     {"ids_special", tok.encode(text.get<std::string>(), true)}};
      io::write_file_atomic(out_dir / "maca_ids.json", ids.dump() + "\n");
    }
  } catch (const std::exception& e) {
    std::cerr << "write_hf_tokenizer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
