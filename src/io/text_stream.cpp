#include "io/text_stream.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace maca::io {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) MACA_THROW(FileError, "cannot read text data '{}'", path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// GPTQ-lineage code evaluates "\n\n".join(dataset["text"]) where the HF rows
// are the file's lines (with their "\n") and blank lines are empty strings.
std::string join_wikitext_rows(const std::string& raw) {
  std::string out;
  out.reserve(raw.size() * 2);
  size_t pos = 0;
  bool first = true;
  while (pos < raw.size()) {
    size_t end = raw.find('\n', pos);
    end = end == std::string::npos ? raw.size() : end + 1;
    const std::string_view line(raw.data() + pos, end - pos);
    if (!first) out += "\n\n";
    first = false;
    if (!is_blank(line)) out += line;
    pos = end;
  }
  return out;
}

std::string join_jsonl_text(const std::string& raw, const std::filesystem::path& path) {
  std::string out;
  std::istringstream in(raw);
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (is_blank(line)) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      MACA_THROW(FileError, "{}:{}: not valid JSON ({})", path.string(), lineno, e.what());
    }
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      MACA_THROW(FileError, "{}:{}: expected an object with a string field 'text'", path.string(), lineno);
    if (!out.empty()) out += "\n\n";
    out += j["text"].get<std::string>();
  }
  return out;
}

}  // namespace

TextFormat parse_text_format(const std::string& s) {
  if (s == "auto") return TextFormat::Auto;
  if (s == "wikitext") return TextFormat::Wikitext;
  if (s == "jsonl") return TextFormat::Jsonl;
  if (s == "raw") return TextFormat::Raw;
  MACA_THROW(Error, "unknown text format '{}': use auto, wikitext, jsonl or raw", s);
}

std::string load_eval_text(const std::filesystem::path& path, TextFormat format) {
  if (format == TextFormat::Auto) {
    const std::string name = path.filename().string();
    if (name.rfind("wiki.", 0) == 0 && path.extension() == ".raw")
      format = TextFormat::Wikitext;
    else if (path.extension() == ".jsonl")
      format = TextFormat::Jsonl;
    else
      format = TextFormat::Raw;
  }
  const std::string raw = read_file(path);
  switch (format) {
    case TextFormat::Wikitext: return join_wikitext_rows(raw);
    case TextFormat::Jsonl: return join_jsonl_text(raw, path);
    default: return raw;
  }
}

}  // namespace maca::io
