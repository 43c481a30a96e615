// Config schema, precedence, error messages and the YAML round trip.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "settings/options.h"
#include "core/error.h"

namespace maca::config {
namespace {

// The ConfigError message of `fn`, or "" when it does not throw one.
template <typename Fn>
std::string config_error(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// A schema with one option of every type.
const Schema& all_types_schema() {
  static const Schema schema = [] {
    Schema s;
    s.add({"t.str", std::string("hello"), "a string"});
    s.add({"t.int", std::int64_t{7}, "an int", in_range(-10, 100)});
    s.add({"t.float", 0.25, "a float"});
    s.add({"t.flag", false, "a bool"});
    s.add({"t.ints", IntList{4}, "int list", in_range(2, 8)});
    s.add({"t.floats", FloatList{}, "float list"});
    s.add({"t.names", StringList{"a", "b"}, "string list"});
    s.add({"t.deep.key", std::string("x"), "three components"});
    return s;
  }();
  return schema;
}

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / name;
  std::ofstream(path) << text;
  return path;
}

TEST(Config, DefaultsComeFromTheSchema) {
  const Config cfg(builtin_schema());
  EXPECT_EQ(cfg.get_int("eval.ctx"), 2048);
  EXPECT_EQ(cfg.get_string("model.path"), "smollm2-135m");
  EXPECT_EQ(cfg.get_string("eval.data"), "wikitext-2-raw/wiki.test.raw");
  EXPECT_EQ(cfg.get_string("run.device"), "auto");
  EXPECT_TRUE(cfg.get_string_list("data.search_path").empty());
  EXPECT_EQ(cfg.source("eval.ctx"), "default");
}

TEST(Config, PrecedenceDefaultsThenYamlThenSet) {
  const auto file = write_temp("maca_precedence.yaml", "eval:\n  ctx: 1024\n  max_windows: 3\nrun.device: cpu\n");
  const Config cfg = resolve(builtin_schema(), file, {"eval.ctx=512", "run.threads=4"});
  EXPECT_EQ(cfg.get_int("eval.ctx"), 512);
  EXPECT_EQ(cfg.source("eval.ctx"), "--set eval.ctx=512");
  EXPECT_EQ(cfg.get_int("eval.max_windows"), 3);
  EXPECT_EQ(cfg.source("eval.max_windows"), file.string() + ":3");
  EXPECT_EQ(cfg.get_string("run.device"), "cpu");
  EXPECT_EQ(cfg.get_int("run.threads"), 4);
  EXPECT_EQ(cfg.get_int("eval.batch_tokens"), 8192);
}

TEST(Config, UnknownYamlKeyNamesFileLineAndSuggestion) {
  Config cfg(builtin_schema());
  const std::string msg = config_error([&] { cfg.merge_yaml("model:\n  path: x\neval:\n  ctxx: 5\n", "my.yaml"); });
  EXPECT_NE(msg.find("unknown config key 'eval.ctxx'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("my.yaml:4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'eval.ctx'?"), std::string::npos) << msg;
}

TEST(Config, UnknownSetKeyNamesFlagAndSuggestion) {
  Config cfg(builtin_schema());
  std::string msg = config_error([&] { cfg.merge_assignment("eval.max_window=3"); });
  EXPECT_NE(msg.find("'eval.max_window'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--set eval.max_window=3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'eval.max_windows'?"), std::string::npos) << msg;
  // The right name in the wrong section.
  msg = config_error([&] { cfg.merge_assignment("run.ctx=3"); });
  EXPECT_NE(msg.find("did you mean 'eval.ctx'?"), std::string::npos) << msg;
  // Nothing close: no suggestion.
  msg = config_error([&] { cfg.merge_assignment("zzzzzzzz.qqqqqqqq=1"); });
  EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
  EXPECT_FALSE(config_error([&] { cfg.merge_assignment("eval.ctx"); }).empty());
}

TEST(Config, TypeErrorsNameKeyValueAndSource) {
  Config cfg(builtin_schema());
  std::string msg = config_error([&] { cfg.merge_assignment("eval.ctx=abc"); });
  EXPECT_NE(msg.find("eval.ctx: expected an integer, got 'abc' (--set eval.ctx=abc)"), std::string::npos) << msg;
  msg = config_error([&] { cfg.merge_yaml("eval:\n  ctx: 12.5\n", "f.yaml"); });
  EXPECT_NE(msg.find("eval.ctx: expected an integer, got '12.5' (f.yaml:2)"), std::string::npos) << msg;
  msg = config_error([&] { cfg.merge_yaml("eval:\n  ctx: [1, 2]\n", "f.yaml"); });
  EXPECT_NE(msg.find("eval.ctx: expected an integer, got a list"), std::string::npos) << msg;
  msg = config_error([&] { cfg.merge_yaml("eval: 5\n", "f.yaml"); });
  EXPECT_NE(msg.find("'eval' is a section"), std::string::npos) << msg;
  msg = config_error([&] { cfg.merge_yaml("eval: [ctx\n", "f.yaml"); });
  EXPECT_NE(msg.find("f.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("YAML syntax error"), std::string::npos) << msg;
  EXPECT_EQ(cfg.get_int("eval.ctx"), 2048);
}

TEST(Config, ChecksRejectOutOfRangeAndUnknownChoices) {
  Config cfg(builtin_schema());
  std::string msg = config_error([&] { cfg.merge_assignment("eval.ctx=0"); });
  EXPECT_NE(msg.find("eval.ctx: 0 is out of range 1..1048576"), std::string::npos) << msg;
  msg = config_error([&] { cfg.merge_assignment("run.device=gpu"); });
  EXPECT_NE(msg.find("run.device: 'gpu' is not one of"), std::string::npos) << msg;
  cfg.merge_assignment("run.device=cuda:1");
  EXPECT_EQ(cfg.get_string("run.device"), "cuda:1");
  msg = config_error([&] { cfg.merge_assignment("run.log_level=loud"); });
  EXPECT_NE(msg.find("trace|debug|info|warn|error|off"), std::string::npos) << msg;
}

TEST(Config, ListsFromSetAndYaml) {
  Config cfg(all_types_schema());
  cfg.merge_assignment("t.ints=[2, 3,4]");
  EXPECT_EQ(cfg.get_int_list("t.ints"), (IntList{2, 3, 4}));
  cfg.merge_assignment("t.ints=8");
  EXPECT_EQ(cfg.get_int_list("t.ints"), (IntList{8}));
  cfg.merge_assignment("t.names=");
  EXPECT_TRUE(cfg.get_string_list("t.names").empty());
  cfg.merge_assignment("t.floats=0.5,1e-3");
  EXPECT_EQ(cfg.get_float_list("t.floats"), (FloatList{0.5, 1e-3}));
  cfg.merge_yaml("t:\n  names:\n    - /a b\n    - 'c, d'\n  ints: [5, 6]\n", "l.yaml");
  EXPECT_EQ(cfg.get_string_list("t.names"), (StringList{"/a b", "c, d"}));
  EXPECT_EQ(cfg.get_int_list("t.ints"), (IntList{5, 6}));
  cfg.merge_yaml("t.names: []\n", "l.yaml");
  EXPECT_TRUE(cfg.get_string_list("t.names").empty());

  std::string msg = config_error([&] { cfg.merge_assignment("t.ints=2,x"); });
  EXPECT_NE(msg.find("t.ints: expected a list of integers, got element 'x'"), std::string::npos) << msg;
  msg = config_error([&] { cfg.merge_yaml("t.ints: [2, 9]\n", "l.yaml"); });
  EXPECT_NE(msg.find("t.ints: 9 is out of range 2..8 (l.yaml:1)"), std::string::npos) << msg;
  msg = config_error([&] { cfg.merge_yaml("t.ints: [[2]]\n", "l.yaml"); });
  EXPECT_NE(msg.find("nested"), std::string::npos) << msg;
}

TEST(Config, ScalarParsing) {
  Config cfg(all_types_schema());
  cfg.merge_assignment("t.flag=yes");
  EXPECT_TRUE(cfg.get_bool("t.flag"));
  cfg.merge_yaml("t.flag: false\nt.float: -3\nt.int: +5\nt.str: ' padded '\n", "s.yaml");
  EXPECT_FALSE(cfg.get_bool("t.flag"));
  EXPECT_EQ(cfg.get_float("t.float"), -3.0);
  EXPECT_EQ(cfg.get_int("t.int"), 5);
  EXPECT_EQ(cfg.get_string("t.str"), " padded ");
  EXPECT_NE(config_error([&] { cfg.merge_assignment("t.flag=maybe"); }).find("expected a boolean"), std::string::npos);
  EXPECT_NE(config_error([&] { cfg.merge_assignment("t.float=1.5x"); }).find("expected a number"), std::string::npos);
}

TEST(Config, DumpReadsBackIdentically) {
  Config cfg(all_types_schema());
  cfg.merge_assignment("t.int=-3");
  cfg.merge_assignment("t.float=0.1");
  cfg.merge_assignment("t.flag=true");
  cfg.merge_assignment("t.ints=[2,8]");
  cfg.merge_assignment("t.floats=1e-7,3,0.30000000000000004");
  cfg.merge_yaml("t.names: ['', 'x: y', '#hash', ' lead', 'true', '123', \"q'uote\"]\nt.str: ''\n", "n.yaml");
  cfg.merge_assignment("t.deep.key=a,b");
  const std::string yaml = cfg.to_yaml();

  Config back(all_types_schema());
  back.merge_yaml(yaml, "dump");
  EXPECT_TRUE(back == cfg) << yaml << "\n---\n" << back.to_yaml();
  EXPECT_EQ(back.to_yaml(), yaml);
  EXPECT_EQ(back.get_string_list("t.names").size(), 7u) << yaml;

  const Config builtin = resolve(builtin_schema(), {}, {"data.search_path=/x,/y", "eval.ctx=128"});
  Config builtin_back(builtin_schema());
  builtin_back.merge_yaml(builtin.to_yaml(), "dump");
  EXPECT_TRUE(builtin_back == builtin) << builtin.to_yaml();
}

TEST(Config, DumpIsNestedInSchemaOrder) {
  const std::string yaml = Config(builtin_schema()).to_yaml();
  EXPECT_NE(yaml.find("eval:\n  data: wikitext-2-raw/wiki.test.raw\n"), std::string::npos) << yaml;
  EXPECT_LT(yaml.find("run:"), yaml.find("model:")) << yaml;
}

TEST(Config, UndeclaredOrMistypedAccessIsAnInternalError) {
  const Config cfg(builtin_schema());
  EXPECT_THROW(cfg.get_int("eval.nope"), std::logic_error);
  EXPECT_THROW(cfg.get_string("eval.ctx"), std::logic_error);
  // Internal errors are not user errors.
  try {
    cfg.get_int("eval.nope");
  } catch (const Error&) {
    ADD_FAILURE() << "an undeclared key must not be a maca::Error";
  } catch (const std::logic_error&) {
  }
}

TEST(Schema, RejectsBadDeclarations) {
  Schema s;
  s.add({"a.b", std::int64_t{1}, "x"});
  EXPECT_THROW(s.add({"a.b", std::int64_t{1}, "dup"}), std::logic_error);
  EXPECT_THROW(s.add({"a.b.c", std::int64_t{1}, "overlaps a.b"}), std::logic_error);
  EXPECT_THROW(s.add({"nosection", std::int64_t{1}, "x"}), std::logic_error);
  EXPECT_THROW(s.add({"a.c", std::int64_t{0}, "default out of range", at_least(1)}), std::logic_error);
}

TEST(Schema, EditDistance) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("eval.ctx", "eval.ctx"), 0u);
}

}  // namespace
}  // namespace maca::config
