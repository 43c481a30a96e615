// `maca faq` end to end through the binary on the tiny llama (byte-level
// tokenizer), teacher = target (self-calibration) unless stated: the
// calibration-set file it writes, a rerun with other selection settings that
// re-uses the generated units, a lost unit regenerated identically, the
// family check (refused, then forced), a stop request (exit 75, resumed to the
// same set), and `maca quantize` calibrating on the
// file with its fingerprint covering the file's tokens.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/child_process.h"
#include "common/run_maca.h"
#include "common/tiny_run.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::contains;
using test_support::run_maca;

class FaqCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("maca_faq_{}_{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    const fs::path src = fs::path(MACA_FIXTURES) / "model";
    for (const char* arch : {"llama", "qwen3"}) {
      fs::create_directories(dir_ / arch);
      for (const char* f : {"config.json", "model.safetensors"}) fs::copy(src / arch / f, dir_ / arch / f);
      fs::copy(src / "byte_tokenizer.json", dir_ / arch / "tokenizer.json");
    }
    std::ofstream text(dir_ / "calib.txt");
    for (int i = 0; i < 40; ++i)
      text << "Paragraph " << i << ": the quick brown fox jumps over the lazy dog, and then it rests a while.\n\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string faq_args(const std::string& run, const std::string& extra = "") const {
    return fmt::format(
        "faq --model {0}/llama --set faq.teacher={0}/llama --run-dir {0}/{1} --set calib.data={0}/calib.txt "
        "--set calib.format=raw --set calib.n_samples=3 --set calib.seq_len=40 --set faq.source_tokens=12 "
        "--set faq.candidates=2 --set gen.batch=4 --set faq.min_new_tokens=4 --set faq.max_repeat=1 "
        "--set gen.temperature=1 --set run.threads=1 {2}",
        dir_.string(), run, extra);
  }
  json read(const fs::path& p) const { return json::parse(std::ifstream(p)); }
  fs::path dir_;
};

TEST_F(FaqCli, WritesACalibrationSetWithProvenance) {
  const auto r = run_maca(faq_args("run"));
  ASSERT_EQ(r.code, 0) << r.output;
  const json f = read(dir_ / "run" / "calib-set.json");
  EXPECT_EQ(f["format"], "maca-calib-set");
  EXPECT_EQ(f["version"], 1);
  ASSERT_EQ(f["samples"].size(), 3u);  // the original set's count: same budget
  for (const auto& s : f["samples"]) EXPECT_EQ(s["tokens"].size(), 40u);
  ASSERT_EQ(f["groups"].size(), 3u);
  int selected = 0;
  for (const auto& g : f["groups"]) {
    ASSERT_EQ(g["candidates"].size(), 2u);
    for (const auto& c : g["candidates"]) selected += c["selected"].get<bool>();
  }
  EXPECT_EQ(selected, 3);  // one winner per group
  const json& p = f["provenance"];
  EXPECT_EQ(p["teacher"]["same_tokenizer"], true);
  EXPECT_FALSE(p["teacher"]["files"].empty());
  EXPECT_EQ(p["prompt"]["name"], "elaborate-v1");
  EXPECT_EQ(p["selection"]["score"], "teacher_nll");
  EXPECT_EQ(p["config"]["gen.batch"], "4");
  // 6 requests in units of 4: two units.
  EXPECT_TRUE(fs::exists(dir_ / "run" / "units" / "unit-00000.json"));
  EXPECT_TRUE(fs::exists(dir_ / "run" / "units" / "unit-00001.json"));
}

TEST_F(FaqCli, SelectionSettingsReuseTheUnitsAndALostUnitComesBackIdentical) {
  ASSERT_EQ(run_maca(faq_args("run")).code, 0);
  const std::string unit1 = test_support::file_bytes(dir_ / "run" / "units" / "unit-00001.json");
  const json first = read(dir_ / "run" / "calib-set.json");

  const auto again = run_maca(faq_args("run", "--set faq.score=none --out " + (dir_ / "none.json").string()));
  ASSERT_EQ(again.code, 0) << again.output;
  EXPECT_TRUE(contains(again.output, "0 to generate, 2 found finished")) << again.output;
  EXPECT_EQ(read(dir_ / "none.json")["provenance"]["selection"]["score"], "none");

  for (const char* score : {"target_nll", "activation_distance"}) {
    const fs::path out = dir_ / (std::string(score) + ".json");
    const auto r = run_maca(faq_args("run", fmt::format("--set faq.score={} --out {}", score, out.string())));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "0 to generate")) << r.output;
    const json f = read(out);
    EXPECT_EQ(f["provenance"]["selection"]["score"], score);
    for (const auto& g : f["groups"])
      for (const auto& c : g["candidates"]) {
        if (c["filter"] != "ok") continue;
        // Both are minus a mean of non-negative terms: NLLs, squared log ratios.
        EXPECT_LT(c["score"].get<double>(), 0.0) << score;
      }
  }

  fs::remove(dir_ / "run" / "units" / "unit-00001.json");
  fs::remove(dir_ / "run" / "calib-set.json");
  const auto resumed = run_maca(faq_args("run"));
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_TRUE(contains(resumed.output, "1 to generate, 1 found finished")) << resumed.output;
  const json second = read(dir_ / "run" / "calib-set.json");
  // Unit files carry their wall time; everything generated is identical.
  json u_old = json::parse(unit1), u_new = read(dir_ / "run" / "units" / "unit-00001.json");
  EXPECT_EQ(u_old["candidates"], u_new["candidates"]);
  EXPECT_EQ(first["samples"], second["samples"]);
  EXPECT_EQ(first["groups"], second["groups"]);

  const auto changed = run_maca(faq_args("run", "--set faq.candidates=3"));
  EXPECT_NE(changed.code, 0);
  EXPECT_TRUE(contains(changed.output, "faq.candidates")) << changed.output;
}

TEST_F(FaqCli, StopRequestEndsAfterAUnitAndResumesToTheSameSet) {
  // 120 single-request units, so the signal lands while units remain.
  const std::string many = "--set calib.n_samples=60 --set calib.seq_len=24 --set gen.batch=1";
  ASSERT_EQ(run_maca(faq_args("ref", many)).code, 0);
  std::vector<std::string> argv = {MACA_BINARY};
  std::istringstream words(faq_args("stopped", many));
  for (std::string w; words >> w;) argv.push_back(w);
  test_support::Child c = test_support::spawn(argv);
  ASSERT_TRUE(test_support::read_until(c, "generator:", 60)) << c.output;
  kill(c.pid, SIGUSR1);
  const auto e = test_support::wait_child(c);
  EXPECT_EQ(e.code, 75) << c.output;
  EXPECT_TRUE(contains(c.output, "stopped on request")) << c.output;
  EXPECT_FALSE(fs::exists(dir_ / "stopped" / "calib-set.json"));
  const auto resumed = run_maca(faq_args("stopped", many));
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_TRUE(contains(resumed.output, "found finished")) << resumed.output;
  const json a = read(dir_ / "ref" / "calib-set.json"), b = read(dir_ / "stopped" / "calib-set.json");
  EXPECT_EQ(a["samples"], b["samples"]);
  EXPECT_EQ(a["groups"], b["groups"]);
}

TEST_F(FaqCli, AnotherFamilyIsRefusedUnlessForced) {
  const std::string other = "--set faq.teacher=" + (dir_ / "qwen3").string();  // the later --set wins
  const auto refused = run_maca(faq_args("run", other));
  EXPECT_NE(refused.code, 0);
  EXPECT_TRUE(contains(refused.output, "architecture qwen3")) << refused.output;
  EXPECT_TRUE(contains(refused.output, "faq.force")) << refused.output;
  const auto forced = run_maca(faq_args("forced", other + " --set faq.force=true"));
  ASSERT_EQ(forced.code, 0) << forced.output;
  EXPECT_EQ(read(dir_ / "forced" / "calib-set.json")["provenance"]["teacher"]["forced"], true);
}

TEST_F(FaqCli, AnotherTokenizerIsRefusedUnlessForcedThenReTokenized) {
  // The same model with a tokenizer whose ids of 'e' and 't' are swapped.
  fs::create_directories(dir_ / "swapped");
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy(dir_ / "llama" / f, dir_ / "swapped" / f);
  json tok = read(dir_ / "llama" / "tokenizer.json");
  json& vocab = tok["model"]["vocab"];
  const int e = vocab["e"].get<int>(), t = vocab["t"].get<int>();
  vocab["e"] = t;
  vocab["t"] = e;
  std::ofstream(dir_ / "swapped" / "tokenizer.json") << tok.dump();

  const std::string other = "--set faq.teacher=" + (dir_ / "swapped").string() +
                            " --set faq.pack=truncate --set calib.seq_len=400 --set gen.max_new_tokens=24";
  const auto refused = run_maca(faq_args("run", other));
  EXPECT_NE(refused.code, 0);
  EXPECT_TRUE(contains(refused.output, "tokenizer differs")) << refused.output;
  const auto forced = run_maca(faq_args("forced", other + " --set faq.force=true"));
  ASSERT_EQ(forced.code, 0) << forced.output;
  const json f = read(dir_ / "forced" / "calib-set.json");
  EXPECT_EQ(f["provenance"]["teacher"]["same_tokenizer"], false);
  // Each winner's text (the teacher's tokens decoded by the teacher) is in its
  // sample, whose tokens are the target's: the text was re-tokenized.
  int checked = 0, swapped_bytes = 0;
  for (const auto& g : f["groups"])
    for (const auto& c : g["candidates"]) {
      if (!c["selected"].get<bool>()) continue;
      bool found = false;
      for (const auto& s : f["samples"])
        found = found || contains(s["text"].get<std::string>(), c["text"].get<std::string>());
      EXPECT_TRUE(found) << c["text"];
      ++checked;
      const std::string text = c["text"];
      swapped_bytes +=
          static_cast<int>(std::count(text.begin(), text.end(), 'e') + std::count(text.begin(), text.end(), 't'));
    }
  EXPECT_EQ(checked, 3);
  EXPECT_GT(swapped_bytes, 0) << "no winner holds an 'e' or 't': the check above proves nothing";
}

TEST_F(FaqCli, QuantizeCalibratesOnTheFileAndItsFingerprintCoversIt) {
  ASSERT_EQ(run_maca(faq_args("run")).code, 0);
  const fs::path set = dir_ / "run" / "calib-set.json";
  auto quantize = [&](const std::string& run, const std::string& data) {
    std::string a;
    for (const std::string& s : test_support::tiny_quantize_args(data, dir_ / run, 3, 40)) a += "'" + s + "' ";
    return run_maca(a + "--set model.path=" + (dir_ / "llama").string());
  };
  const auto q = quantize("q", set.string());
  ASSERT_EQ(q.code, 0) << q.output;
  const json report = read(dir_ / "q" / "report.json");
  EXPECT_EQ(report["provenance"]["calibration"]["format"], "maca-calib-set v1");
  EXPECT_EQ(report["provenance"]["calibration"]["sequences"], 3);

  // The same run directory with a changed file: refused, naming the calibration set.
  json f = read(set);
  f["samples"][0]["tokens"][0] = (f["samples"][0]["tokens"][0].get<int>() + 1) % 256;
  const fs::path changed = dir_ / "changed.json";
  std::ofstream(changed) << f.dump();
  fs::remove(dir_ / "q" / "report.json");
  const auto again = quantize("q", changed.string());
  EXPECT_NE(again.code, 0);
  EXPECT_TRUE(contains(again.output, "calib")) << again.output;

  // A calibration-set file with the maca sampler is refused up front.
  std::string a;
  for (const std::string& s : test_support::tiny_quantize_args(set, dir_ / "m", 3, 40)) a += "'" + s + "' ";
  const auto maca = run_maca(a + "--set model.path=" + (dir_ / "llama").string() + " --set calib.sampler=maca");
  EXPECT_NE(maca.code, 0);
  EXPECT_TRUE(contains(maca.output, "calib.sampler=fixed")) << maca.output;
}

}  // namespace
