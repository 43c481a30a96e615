// validate() and the method registry: bad options are ConfigErrors naming the key.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "common/quantize_with.h"
#include "core/error.h"
#include "quant/quantize.h"

namespace maca::quant {
namespace {

std::string config_error(const QuantOptions& opt, int64_t cols) {
  try {
    validate(opt, cols, "blk.1.up_proj");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Validate, DefaultsAreValid) { EXPECT_NO_THROW(validate(QuantOptions{}, 1536, "l")); }

TEST(Validate, UnsupportedBits) {
  QuantOptions opt;
  opt.bits = 5;
  const std::string msg = config_error(opt, 1536);
  EXPECT_NE(msg.find("quant.bits"), std::string::npos) << msg;
  for (int b : {2, 3, 4, 8}) {
    opt.bits = b;
    EXPECT_NO_THROW(validate(opt, 1536, "l"));
  }
}

TEST(Validate, GroupSizeMustDivideColumns) {
  QuantOptions opt;
  opt.group_size = 128;
  const std::string msg = config_error(opt, 576);  // 576 = 4.5 · 128
  EXPECT_NE(msg.find("quant.group_size"), std::string::npos) << msg;
  EXPECT_NE(msg.find("576"), std::string::npos) << msg;
  EXPECT_NE(msg.find("blk.1.up_proj"), std::string::npos) << msg;
  opt.group_size = 0;
  EXPECT_NE(config_error(opt, 576).find("quant.group_size"), std::string::npos);
  opt.group_size = -1;
  EXPECT_NO_THROW(validate(opt, 576, "l"));
  opt.group_size = 64;
  EXPECT_NO_THROW(validate(opt, 576, "l"));
}

TEST(Validate, OtherKeys) {
  QuantOptions opt;
  opt.damp = 1.0;
  EXPECT_NE(config_error(opt, 256).find("quant.damp"), std::string::npos);
  opt = {};
  opt.clip.enabled = true;
  opt.clip.max_shrink = 0;
  EXPECT_NE(config_error(opt, 256).find("quant.clip"), std::string::npos);
}

TEST(Validate, MethodsValidateTheGrid) {
  EXPECT_THROW(test::quantize_with(Tensor::zeros({2, 8}), nullptr, nullptr,
                                   {{"quant.method", "rtn"}, {"quant.group_size", "3"}}, "l"),
               ConfigError);
}

// Each method's own options are schema keys with checks.
TEST(Validate, MethodOptionsAreCheckedByTheSchema) {
  for (const auto& [key, bad] : std::map<std::string, std::string>{{"quant.gptaq.alpha", "1.5"},
                                                                   {"quant.gptq.block_size", "0"},
                                                                   {"quant.snrq.alpha_mode", "optimal"},
                                                                   {"quant.ksnrq.beam", "0"}})
    try {
      test::quant_config({{key, bad}});
      FAIL() << key;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
}

TEST(Validate, Methods) {
  std::vector<std::string> names;
  for (const MethodInfo* m : methods()) {
    names.push_back(m->name);
    const auto method = create_method(test::quant_config({{"quant.method", m->name}}));
    EXPECT_STREQ(method->name(), m->name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"rtn", "gptq", "gptaq", "snrq", "ksnrq"}));
  try {
    test::quant_config({{"quant.method", "awq"}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("quant.method"), std::string::npos) << e.what();
  }
}

// What each method asks the calibration pass for.
TEST(Validate, MethodNeeds) {
  const auto needs = [](const test::Settings& s) { return create_method(test::quant_config(s))->needs(); };
  EXPECT_FALSE(needs({{"quant.method", "rtn"}}).hessian);
  EXPECT_TRUE(needs({{"quant.method", "gptq"}}).hessian);
  EXPECT_FALSE(needs({{"quant.method", "gptq"}}).cross);
  EXPECT_TRUE(needs({{"quant.method", "gptaq"}}).cross);
  EXPECT_TRUE(needs({{"quant.method", "snrq"}}).cross);
  EXPECT_FALSE(needs({{"quant.method", "snrq"}, {"quant.snrq.alpha", "0"}}).cross);  // α = 0: GPTQ's objective
  EXPECT_TRUE(needs({{"quant.method", "ksnrq"}, {"quant.snrq.alpha_mode", "closed_form"}}).cross);
  EXPECT_TRUE(needs({{"quant.method", "snrq"}, {"quant.snrq.alpha_mode", "sample"}}).sample_alpha);
  EXPECT_FALSE(needs({{"quant.method", "snrq"}}).sample_alpha);
}

}  // namespace
}  // namespace maca::quant
