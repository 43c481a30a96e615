#include "fixture_cases.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace maca::tokenizer::testing {

namespace {

nlohmann::json read(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing fixture " + path.string() + " (tests/scripts/make_tokenizer_fixtures.py)");
  return nlohmann::json::parse(in);
}

void expect_same_ids(const std::vector<int32_t>& got, const std::vector<int32_t>& want, const std::string& what) {
  if (got == want) return;
  size_t k = 0;
  while (k < got.size() && k < want.size() && got[k] == want[k]) ++k;
  const auto window = [&](const std::vector<int32_t>& v) {
    std::string s;
    for (size_t i = k >= 3 ? k - 3 : 0; i < std::min(v.size(), k + 5); ++i) s += std::to_string(v[i]) + " ";
    return s;
  };
  ADD_FAILURE() << what << ": ids differ at position " << k << " (maca " << got.size() << " ids, HF " << want.size()
                << ")\n  maca: ... " << window(got) << "\n  HF:   ... " << window(want);
}

}  // namespace

std::filesystem::path fixture_dir() { return std::filesystem::path(MACA_FIXTURES) / "tokenizer"; }

std::vector<FixtureCase> load_cases(const std::string& name) {
  const nlohmann::json texts = read(fixture_dir() / "texts.json");
  const nlohmann::json doc = read(fixture_dir() / (name + ".expected.json"));
  std::vector<FixtureCase> cases;
  for (const auto& c : doc.at("cases")) {
    FixtureCase fc;
    fc.name = c.at("name").get<std::string>();
    fc.text = texts.at(fc.name).get<std::string>();
    fc.ids = c.at("ids").get<std::vector<int32_t>>();
    fc.ids_special = c.at("ids_special").get<std::vector<int32_t>>();
    fc.decoded = c.at("decoded").is_null() ? fc.text : c.at("decoded").get<std::string>();
    fc.decoded_skip = c.at("decoded_skip").is_null() ? fc.text : c.at("decoded_skip").get<std::string>();
    cases.push_back(std::move(fc));
  }
  return cases;
}

size_t check_cases(const Tokenizer& tok, const std::vector<FixtureCase>& cases) {
  size_t compared = 0;
  for (const FixtureCase& c : cases) {
    expect_same_ids(tok.encode(c.text, false), c.ids, c.name);
    expect_same_ids(tok.encode(c.text, true), c.ids_special, c.name + " (with special tokens)");
    EXPECT_EQ(tok.decode(c.ids, false), c.decoded) << c.name;
    EXPECT_EQ(tok.decode(c.ids_special, true), c.decoded_skip) << c.name << " (skipping special tokens)";
    compared += c.ids.size() + c.ids_special.size();
  }
  return compared;
}

}  // namespace maca::tokenizer::testing
