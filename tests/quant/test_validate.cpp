// validate() and parse_method(): bad options are ConfigErrors naming the key.
#include <gtest/gtest.h>

#include <string>

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
  opt.alpha = 1.5;
  EXPECT_NE(config_error(opt, 256).find("quant.alpha"), std::string::npos);
  opt = {};
  opt.block_size = 0;
  EXPECT_NE(config_error(opt, 256).find("quant.block_size"), std::string::npos);
  opt = {};
  opt.clip.enabled = true;
  opt.clip.max_shrink = 0;
  EXPECT_NE(config_error(opt, 256).find("quant.clip"), std::string::npos);
}

TEST(Validate, QuantizeLinearValidates) {
  QuantOptions opt;
  opt.method = Method::Rtn;
  opt.group_size = 3;
  EXPECT_THROW(quantize_linear(Tensor::zeros({2, 8}), nullptr, nullptr, opt, "l"), ConfigError);
}

TEST(Validate, Methods) {
  EXPECT_EQ(parse_method("rtn"), Method::Rtn);
  EXPECT_EQ(parse_method("gptq"), Method::Gptq);
  EXPECT_EQ(parse_method("gptaq"), Method::Gptaq);
  EXPECT_STREQ(method_name(Method::Gptaq), "gptaq");
  try {
    parse_method("awq");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("quant.method"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace maca::quant
