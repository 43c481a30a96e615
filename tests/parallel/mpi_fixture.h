// The fixture of the MPI tests: a temporary directory with the tiny llama
// (plus a byte-level tokenizer, so runs can evaluate) and a calibration file,
// `maca` run under mpirun with a hang timeout, and readers for what runs
// leave behind (quantized PPL, the fraction of identical quantized weights).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/child_process.h"
#include "common/run_maca.h"
#include "common/tiny_run.h"
#include "io/model_source.h"

namespace test_support {

namespace fs = std::filesystem;

class Mpi : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("maca_mpi_{}_{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "model");
    test_support::write_calib_tokens(dir_ / "calib.tokens", 65536);
    const fs::path src = fs::path(MACA_FIXTURES) / "model";
    for (const char* f : {"config.json", "model.safetensors"}) fs::copy(src / "llama" / f, dir_ / "model" / f);
    fs::copy(src / "byte_tokenizer.json", dir_ / "model" / "tokenizer.json");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> quantize(const std::string& run, const std::vector<std::string>& sets) const {
    std::vector<std::string> a = test_support::tiny_quantize_args(dir_ / "calib.tokens", dir_ / run, 16, 128);
    for (const std::string& s : std::vector<std::string>{"model.path=" + (dir_ / "model").string(),
                                                         "eval.quantized=true", "eval.ctx=64", "eval.max_windows=8"}) {
      a.push_back("--set");
      a.push_back(s);
    }
    for (const std::string& s : sets) {
      a.push_back("--set");
      a.push_back(s);
    }
    return a;
  }

  // Runs maca with `args` on `ranks` ranks; fails the test (and kills the
  // job) when it has not ended after `timeout_s`.
  test_support::ChildExit mpirun(int ranks, const std::vector<std::string>& args, std::string* output = nullptr,
                                 const std::vector<std::string>& env = {}, double timeout_s = 120) const {
    std::vector<std::string> argv = {MACA_MPIEXEC, "--oversubscribe", "--bind-to", "none", "-np",
                                     std::to_string(ranks)};
    for (const std::string& e : env) argv.insert(argv.end(), {"-x", e.substr(0, e.find('='))});
    argv.push_back(MACA_BINARY);
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<std::string> full_env = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                                         "OMPI_MCA_rmaps_base_oversubscribe=1"};
    full_env.insert(full_env.end(), env.begin(), env.end());
    test_support::Child c = test_support::spawn(argv, full_env);
    if (!test_support::read_to_end(c, timeout_s))
      ADD_FAILURE() << "mpirun with " << ranks << " ranks did not end within " << timeout_s << " s:\n" << c.output;
    const test_support::ChildExit e = test_support::wait_child(c);
    if (output) *output = c.output;
    return e;
  }

  double quantized_ppl(const std::string& run) const {
    const auto j = nlohmann::json::parse(std::ifstream(dir_ / run / "report.json"));
    return j["eval"]["quantized"]["ppl"].get<double>();
  }

  // Fraction of equal values over the quantized weights of two fake-quant models.
  double equal_fraction(const std::string& a, const std::string& b) const {
    const auto ma = maca::io::open_model(dir_ / a / "fake_quant"), mb = maca::io::open_model(dir_ / b / "fake_quant");
    int64_t same = 0, total = 0;
    for (const std::string& name : ma->tensor_names()) {
      if (!test_support::contains(name, "_proj.weight")) continue;
      const maca::Tensor ta = ma->load(name), tb = mb->load(name);
      for (int64_t i = 0; i < ta.numel(); ++i) same += ta.data<float>()[i] == tb.data<float>()[i];
      total += ta.numel();
    }
    EXPECT_GT(total, 0);
    return static_cast<double>(same) / static_cast<double>(std::max<int64_t>(total, 1));
  }

  fs::path dir_;
};

}  // namespace test_support
