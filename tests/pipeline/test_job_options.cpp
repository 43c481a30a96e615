// resolve_for_model: the default group size follows the model's layer widths;
// a group size given explicitly, or partial groups, are left alone.
#include <gtest/gtest.h>

#include "config/config.h"
#include "settings/options.h"
#include "core/error.h"
#include "pipeline/job_options.h"

namespace maca::pipeline {
namespace {

model::ModelSpec spec(int64_t hidden, int64_t intermediate, int64_t heads, int64_t head_dim) {
  model::ModelSpec s;
  s.hidden = hidden, s.intermediate = intermediate, s.n_layers = 1;
  s.n_heads = heads, s.n_kv_heads = heads, s.head_dim = head_dim;
  return s;
}

// RTN needs no calibration file, so read_job_options runs anywhere.
config::Config cfg(std::vector<std::string> sets = {}) {
  sets.push_back("quant.method=rtn");
  return config::resolve(config::builtin_schema(), "", sets);
}

const model::ModelSpec kSmolLM2 = spec(576, 1536, 9, 64);  // 576 = 4.5 x 128

TEST(ResolveForModel, DefaultGroupSizeFallsBackToADivisor) {
  const config::Config out = resolve_for_model(cfg(), kSmolLM2, "SmolLM2.gguf");
  EXPECT_EQ(out.get_int("quant.group_size"), 64);
  EXPECT_NE(out.source("quant.group_size").find("SmolLM2.gguf"), std::string::npos) << out.source("quant.group_size");
  EXPECT_NE(out.to_yaml().find("group_size: 64"), std::string::npos);
  EXPECT_EQ(read_job_options(out, kSmolLM2).block.method->grid().group_size, 64);
}

TEST(ResolveForModel, ThirtyTwoWhenSixtyFourDoesNotDivide) {
  EXPECT_EQ(resolve_for_model(cfg(), spec(96, 160, 3, 32), "m").get_int("quant.group_size"), 32);
}

TEST(ResolveForModel, DefaultThatDividesIsKept) {
  const config::Config out = resolve_for_model(cfg(), spec(896, 4864, 14, 64), "qwen");  // Qwen2.5-0.5B
  EXPECT_EQ(out.get_int("quant.group_size"), 128);
  EXPECT_EQ(out.source("quant.group_size"), "default");
}

TEST(ResolveForModel, ExplicitGroupSizeOrPartialGroupsAreKept) {
  EXPECT_EQ(resolve_for_model(cfg({"quant.group_size=128"}), kSmolLM2, "m").get_int("quant.group_size"), 128);
  EXPECT_THROW(read_job_options(resolve_for_model(cfg({"quant.group_size=128"}), kSmolLM2, "m"), kSmolLM2),
               ConfigError);
  EXPECT_EQ(resolve_for_model(cfg({"quant.partial_groups=true"}), kSmolLM2, "m").get_int("quant.group_size"), 128);
}

TEST(ResolveForModel, NoDivisorLeavesTheUpFrontError) {
  const model::ModelSpec odd = spec(100, 200, 2, 50);
  const config::Config out = resolve_for_model(cfg(), odd, "m");
  EXPECT_EQ(out.get_int("quant.group_size"), 128);
  EXPECT_THROW(read_job_options(out, odd), ConfigError);
}

}  // namespace
}  // namespace maca::pipeline
