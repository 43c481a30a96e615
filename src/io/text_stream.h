// Text corpora as the quantization literature prepares them (algorithms.md §6):
// the one stream that is tokenized for perplexity and for calibration.
#pragma once

#include <filesystem>
#include <string>

namespace maca::io {

enum class TextFormat {
  Auto,      // wikitext for wiki.*.raw files, jsonl for *.jsonl, raw otherwise
  Wikitext,  // HF `wikitext-2-raw-v1` rows (lines; blank lines become "") joined by "\n\n"
  Jsonl,     // the `text` field of each JSON line, joined by "\n\n"
  Raw,       // the file as it is
};

TextFormat parse_text_format(const std::string& s);  // auto|wikitext|jsonl|raw; throws maca::Error

// Reads `path` and returns the one text stream that is tokenized for
// perplexity or sampled for calibration. Throws maca::FileError naming the file (and line for jsonl).
std::string load_eval_text(const std::filesystem::path& path, TextFormat format);

}  // namespace maca::io
