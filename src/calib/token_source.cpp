#include "calib/token_source.h"

#include <fstream>
#include <iterator>

#include "core/error.h"

namespace maca::calib {

bool is_token_file(const std::filesystem::path& path) {
  const auto ext = path.extension();
  return ext == ".tokens" || ext == ".i32";
}

std::vector<int32_t> read_token_file(const std::filesystem::path& path, int32_t vocab) {
  std::ifstream in(path, std::ios::binary);
  if (!in) MACA_THROW(FileError, "cannot read calibration token file '{}'", path.string());
  const std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() % 4 != 0)
    MACA_THROW(FileError,
               "{}: {} bytes is not a multiple of 4; a .tokens/.i32 file holds little-endian int32 "
               "token ids and nothing else",
               path.string(), bytes.size());
  std::vector<int32_t> ids(bytes.size() / 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    const unsigned char* b = &bytes[4 * i];
    const uint32_t u = uint32_t{b[0]} | uint32_t{b[1]} << 8 | uint32_t{b[2]} << 16 | uint32_t{b[3]} << 24;
    ids[i] = static_cast<int32_t>(u);
    if (ids[i] < 0 || ids[i] >= vocab)
      MACA_THROW(FileError,
                 "{}: token {} (byte offset {}) is id {}, outside the tokenizer's vocabulary [0, {}); "
                 "the file was tokenized for another model or is damaged",
                 path.string(), i, 4 * i, ids[i], vocab);
  }
  return ids;
}

std::vector<int32_t> load_calibration_tokens(const std::filesystem::path& path, io::TextFormat format,
                                             const tokenizer::Tokenizer& tok) {
  if (format == io::TextFormat::Auto && is_token_file(path)) return read_token_file(path, tok.vocab_size());
  return tok.encode(io::load_eval_text(path, format), /*add_special_tokens=*/false);
}

}  // namespace maca::calib
