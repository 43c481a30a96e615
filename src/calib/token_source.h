// The token stream calibration crops are drawn from (algorithms.md §6): a
// text corpus tokenized as one stream, or a pre-tokenized file of ids.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "io/text_stream.h"
#include "tokenizer/tokenizer.h"

namespace maca::calib {

// Token ids of `path`, as one stream (the samplers crop it afterwards).
//  - `.tokens` / `.i32` files with format Auto: raw little-endian int32 ids,
//    see read_token_file.
//  - otherwise io::load_eval_text(path, format) (jsonl: the `text` fields
//    joined by "\n\n"), encoded without BOS/EOS.
// Throws maca::FileError naming the file (and line or position).
std::vector<int32_t> load_calibration_tokens(const std::filesystem::path& path, io::TextFormat format,
                                             const tokenizer::Tokenizer& tok);

// A pre-tokenized file: little-endian int32 ids, nothing else. Throws
// maca::FileError naming the file when its size is not a multiple of 4 or
// an id lies outside [0, vocab) (with the id's index and byte offset).
std::vector<int32_t> read_token_file(const std::filesystem::path& path, int32_t vocab);

// True for the extensions read_token_file reads (.tokens, .i32).
bool is_token_file(const std::filesystem::path& path);

}  // namespace maca::calib
