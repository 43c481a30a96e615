// The rounding fixtures' shared inputs: W, H, D of tests/fixtures/quant/inputs.f32
// (written by tests/scripts/make_gptq_fixtures.py) with the cases of one
// cases.json (quant/ for rtn/gptq/gptaq, snrq/ for snrq/ksnrq).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/tensor.h"

namespace maca::quant {

struct FixtureInputs {
  Tensor W, H, D;
  nlohmann::json meta;
};

// `cases`: a cases.json path relative to tests/fixtures ("quant/cases.json").
inline FixtureInputs load_fixture_inputs(const std::string& cases) {
  FixtureInputs r;
  const std::string dir = std::string(MACA_FIXTURES) + "/";
  std::ifstream js(dir + cases);
  r.meta = nlohmann::json::parse(js);
  const int64_t rows = r.meta["rows"], cols = r.meta["cols"];
  r.W = Tensor::empty({rows, cols});
  r.H = Tensor::empty({cols, cols});
  r.D = Tensor::empty({cols, cols});
  std::ifstream bin(dir + "quant/inputs.f32", std::ios::binary);
  for (Tensor* t : {&r.W, &r.H, &r.D})
    bin.read(static_cast<char*>(t->raw()), static_cast<std::streamsize>(t->nbytes()));
  EXPECT_TRUE(bin.good()) << "short " << dir << "quant/inputs.f32";
  return r;
}

}  // namespace maca::quant
