// The expected ids and decodes in tests/fixtures/tokenizer (written by
// tests/scripts/make_tokenizer_fixtures.py with HF `tokenizers`) and a check
// of a maca tokenizer against them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace maca::tokenizer::testing {

struct FixtureCase {
  std::string name, text;
  std::vector<int32_t> ids, ids_special;
  std::string decoded, decoded_skip;  // HF decode of ids / of ids_special skipping special tokens
};

std::filesystem::path fixture_dir();
// The cases of `<name>.expected.json`.
std::vector<FixtureCase> load_cases(const std::string& name);
// Encodes and decodes every case with `tok`, reporting each mismatch as a
// gtest failure (first differing position only); returns the ids compared.
size_t check_cases(const Tokenizer& tok, const std::vector<FixtureCase>& cases);

}  // namespace maca::tokenizer::testing
