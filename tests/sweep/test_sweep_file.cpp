// Sweep files in-process: grid expansion (cross product, order, variants,
// exclude), run directory names, the arguments and points-file lines of each
// point, and every kind of bad input named by file and key.
#include <gtest/gtest.h>

#include "core/error.h"
#include "sweep/slurm.h"
#include "sweep/sweep.h"
#include "sweep_test_util.h"

namespace maca::sweep {
namespace {

namespace fs = std::filesystem;
using sweep_test::write_file;

class SweepFile : public sweep_test::ScratchDir {
 protected:
  // Writes jobs/<name>.yaml under the scratch dir with a base config beside it.
  fs::path sweep_file(const std::string& body, const std::string& name = "test") const {
    write_file(dir_ / "configs" / "base.yaml", "quant:\n  method: gptq\n  bits: 4\n");
    const fs::path file = dir_ / "jobs" / (name + ".yaml");
    write_file(file, body);
    return file;
  }

  // The message of the ConfigError that loading `body` throws.
  std::string error_of(const std::string& body, const std::vector<Override>& extra = {}) const {
    try {
      load_sweep(sweep_file(body), extra);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << body;
    return {};
  }

  void expect_error(const std::string& body, const std::vector<std::string>& parts,
                    const std::vector<Override>& extra = {}) const {
    const std::string what = error_of(body, extra);
    for (const std::string& p : parts) EXPECT_NE(what.find(p), std::string::npos) << "'" << p << "' not in: " << what;
  }
};

TEST_F(SweepFile, CrossProductFirstAxisSlowest) {
  const Sweep s = load_sweep(sweep_file("name: bits\nbase: ../configs/base.yaml\nout: " + (dir_ / "out").string() +
                                        "\ngrid:\n  quant.bits: [4, 3]\n  calib.seed: [0, 1, 2]\n"));
  EXPECT_EQ(s.name, "bits");
  EXPECT_EQ(s.base, dir_ / "configs" / "base.yaml");
  ASSERT_EQ(s.points.size(), 6u);
  const std::vector<std::string> names = {"00-w4-s0", "01-w4-s1", "02-w4-s2", "03-w3-s0", "04-w3-s1", "05-w3-s2"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    const Point& p = s.points[i];
    EXPECT_EQ(p.index, static_cast<int>(i));
    EXPECT_EQ(p.name, names[i]);
    EXPECT_EQ(p.run_dir, dir_ / "out" / names[i]);
    EXPECT_EQ(p.config.get_int("quant.bits"), i < 3 ? 4 : 3);
    EXPECT_EQ(p.config.get_int("calib.seed"), static_cast<int64_t>(i % 3));
    EXPECT_EQ(p.config.get_string("run.dir"), p.run_dir.string());
    EXPECT_EQ(p.label, "gptq");  // bits and seed have columns of their own
  }
  EXPECT_EQ(quantize_args(s, s.points[4]),
            (std::vector<std::string>{"quantize", "-c", s.base.string(), "--set", "quant.bits=3", "--set",
                                      "calib.seed=1", "--set", "run.dir=" + (dir_ / "out" / "04-w3-s1").string()}));
}

TEST_F(SweepFile, VariantsSetSeveralKeys) {
  const Sweep s = load_sweep(sweep_file(R"(base: configs/base.yaml
set:
  calib: {n_samples: 16}
  eval.max_windows: 4
grid:
  model.path: [/models/a/SmolLM2.Q4_1.gguf, smollm2-135m]
  method:
    - {label: gptq-maca, quant.method: gptq, calib.sampler: maca, calib: {maca: {mode: crops}}}
    - {quant.method: rtn, quant.sym: false}
  setting:
    - {label: w2g64, quant.bits: 2, quant.group_size: 64}
)"));
  EXPECT_EQ(s.name, "test");  // the file's stem
  EXPECT_EQ(s.out, fs::absolute("runs/sweep-test"));
  ASSERT_EQ(s.points.size(), 4u);
  EXPECT_EQ(s.points[0].name, "00-SmolLM2.Q4_1-gptq-maca-w2g64");
  EXPECT_EQ(s.points[1].name, "01-SmolLM2.Q4_1-rtn-symfalse-w2g64");
  EXPECT_EQ(s.points[3].name, "03-smollm2-135m-rtn-symfalse-w2g64");
  EXPECT_EQ(s.points[0].label, "gptq-maca");  // the model and the setting have columns of their own
  const config::Config& c = s.points[0].config;
  EXPECT_EQ(c.get_string("calib.sampler"), "maca");
  EXPECT_EQ(c.get_string("calib.maca.mode"), "crops");
  EXPECT_EQ(c.get_int("calib.n_samples"), 16);
  EXPECT_EQ(c.get_int("eval.max_windows"), 4);
  EXPECT_EQ(c.get_int("quant.group_size"), 64);
  EXPECT_EQ(c.get_string("model.path"), "/models/a/SmolLM2.Q4_1.gguf");
  EXPECT_FALSE(s.points[1].config.get_bool("quant.sym"));
  EXPECT_TRUE(c.get_bool("quant.sym"));  // from the base config
  // Overrides in order: set, then each axis.
  ASSERT_EQ(s.points[1].overrides.size(), 7u);
  EXPECT_EQ(s.points[1].overrides[0].key, "calib.n_samples");
  EXPECT_EQ(s.points[1].overrides[2].key, "model.path");
  EXPECT_EQ(s.points[1].overrides[4].value, "false");
}

TEST_F(SweepFile, ExcludeAndListValues) {
  const Sweep s = load_sweep(sweep_file(R"(base: configs/base.yaml
grid:
  method:
    - {label: rtn, quant.method: rtn}
    - {label: gptq, quant.method: gptq}
  calib.maca.lengths: [[16, 32], [64]]
  calib.seed: [0, 1]
exclude:
  - {method: rtn, calib.seed: 1}
  - {method: gptq, calib.maca.lengths: [64], calib.seed: 0}
)"));
  std::vector<std::string> names;
  for (const Point& p : s.points) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"00-rtn-lengths16_32-s0", "01-rtn-lengths64-s0", "02-gptq-lengths16_32-s0",
                                             "03-gptq-lengths16_32-s1", "04-gptq-lengths64-s1"}));
  EXPECT_EQ(s.points[0].config.get_int_list("calib.maca.lengths"), (config::IntList{16, 32}));
  EXPECT_EQ(s.points[0].label, "rtn-lengths16_32");
}

TEST_F(SweepFile, CommandLineOverridesApplyToEveryPoint) {
  const Sweep s = load_sweep(sweep_file("base: configs/base.yaml\ngrid:\n  calib.seed: [0, 1]\n"),
                             {{"run.threads", "1", "--threads"}}, dir_ / "elsewhere");
  EXPECT_EQ(s.out, dir_ / "elsewhere");
  for (const Point& p : s.points) {
    EXPECT_EQ(p.config.get_int("run.threads"), 1);
    EXPECT_EQ(p.overrides.back().key, "run.threads");
  }
  expect_error("base: configs/base.yaml\ngrid:\n  calib.seed: [0, 1]\n",
               {"test.yaml", "'calib.seed' (--set calib.seed=3) is varied by the grid"},
               {{"calib.seed", "3", "--set calib.seed=3"}});
}

TEST_F(SweepFile, PointsFileLinesAndArrayRanges) {
  const Sweep s = load_sweep(sweep_file("base: configs/base.yaml\nout: o\ngrid:\n  quant.bits: [4, 3]\n"));
  const auto lines = points_lines(s);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1],
            "01-w3\t-c\t" + s.base.string() + "\t--set\tquant.bits=3\t--set\trun.dir=" + s.points[1].run_dir.string());
  EXPECT_EQ(array_ranges({0, 1, 2, 3}), "0-3");
  EXPECT_EQ(array_ranges({0, 2, 3, 5, 7, 8, 9}), "0,2-3,5,7-9");
  EXPECT_EQ(shell_join({"a", "b c", "it's", "--set=x,y", ""}), "a 'b c' 'it'\\''s' --set=x,y ''");
}

TEST_F(SweepFile, BaseIsFoundBesideTheSweepFileOrAbove) {
  EXPECT_EQ(load_sweep(sweep_file("base: configs/base.yaml\ngrid: {calib.seed: [0]}\n")).base,
            dir_ / "configs" / "base.yaml");
  write_file(dir_ / "jobs" / "local.yaml", "quant.bits: 3\n");
  const Sweep s = load_sweep(sweep_file("base: local.yaml\ngrid: {calib.seed: [0]}\n"));
  EXPECT_EQ(s.base, dir_ / "jobs" / "local.yaml");
  EXPECT_EQ(s.points[0].config.get_int("quant.bits"), 3);
}

TEST_F(SweepFile, UnknownKeysNameFileLineAndClosestKey) {
  expect_error("base: configs/base.yaml\nset:\n  quant.bitz: 3\ngrid: {calib.seed: [0]}\n",
               {"test.yaml:3 (set)", "unknown config key 'quant.bitz'", "did you mean 'quant.bits'?"});
  expect_error("base: configs/base.yaml\ngrid:\n  calib.sed: [0, 1]\n",
               {"test.yaml:3 (grid.calib.sed[0])", "unknown config key 'calib.sed'", "did you mean 'calib.seed'?"});
  expect_error("base: configs/base.yaml\ngrid:\n  method:\n    - {label: a, quant.metod: rtn}\n",
               {"test.yaml:4 (grid.method[0])", "'quant.metod'", "did you mean 'quant.method'?"});
  expect_error("base: configs/base.yaml\ngird: {calib.seed: [0]}\n",
               {"test.yaml:2", "unknown sweep key 'gird' (did you mean 'grid'?)"});
}

TEST_F(SweepFile, BadValuesAndShapes) {
  expect_error("base: configs/base.yaml\ngrid:\n  quant.bits: [4, 5]\n", {"test.yaml:3", "quant.bits", "5 bits"});
  expect_error("base: configs/base.yaml\ngrid:\n  calib.seed: 3\n",
               {"test.yaml:3", "grid.calib.seed: expected a list of values", "a single value"});
  expect_error("base: configs/base.yaml\ngrid:\n  calib.seed: []\n", {"test.yaml:3", "grid.calib.seed", "empty"});
  expect_error("base: configs/base.yaml\ngrid: {}\n", {"test.yaml", "empty grid"});
  expect_error("base: configs/base.yaml\n", {"test.yaml", "empty grid"});
  expect_error("base: configs/base.yaml\ngrid:\n  m: [{quant.method: rtn}, gptq]\n", {"grid.m[1]", "mix of maps"});
  expect_error("base: configs/base.yaml\ngrid:\n  m: [{label: x, quant.bits: 4}, {label: x, quant.bits: 3}]\n",
               {"grid.m[1]", "label 'x'"});
  expect_error("base: configs/base.yaml\ngrid:\n  run.dir: [a, b]\n", {"grid.run.dir[0]", "'run.dir' cannot be set"});
  expect_error("base: configs/base.yaml\ngrid:\n  calib.seed: [0]\nexclude:\n  - {seed: 0}\n",
               {"test.yaml:5", "'seed' is not an axis"});
  expect_error("base: configs/base.yaml\ngrid:\n  calib.seed: [0]\nexclude:\n  - {calib.seed: 0}\n",
               {"removes every point"});
  expect_error("base: configs/base.yaml\ngrid: [calib.seed]\n", {"test.yaml:2", "expected a map of axes"});
  expect_error("base: configs/base.yaml\ngrid: {calib.seed: [0}\n", {"test.yaml", "YAML syntax error"});
}

TEST_F(SweepFile, MissingOrBadBase) {
  expect_error("grid: {calib.seed: [0]}\n", {"test.yaml", "no `base` config"});
  expect_error("base: configs/nope.yaml\ngrid: {calib.seed: [0]}\n",
               {"test.yaml", "base config 'configs/nope.yaml' not found", (dir_ / "jobs" / "configs").string()});
  write_file(dir_ / "configs" / "bad.yaml", "quant:\n  bitz: 3\n");
  expect_error("base: configs/bad.yaml\ngrid: {calib.seed: [0]}\n", {"bad.yaml:2", "quant.bitz"});
  EXPECT_THROW(load_sweep(dir_ / "none.yaml"), ConfigError);
}

// Every sweep shipped in jobs/ expands and every point's config passes the
// schema (a renamed key or an invalid value in a job or its base config fails here).
TEST(ShippedSweeps, EveryJobFileLoads) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(MACA_SOURCE_DIR) / "jobs")) {
    if (e.path().extension() != ".yaml") continue;
    SCOPED_TRACE(e.path().string());
    const Sweep s = load_sweep(e.path(), {}, fs::temp_directory_path() / "maca-shipped-sweeps");
    EXPECT_FALSE(s.points.empty());
    ++n;
  }
  EXPECT_GE(n, 6);
}

}  // namespace
}  // namespace maca::sweep
