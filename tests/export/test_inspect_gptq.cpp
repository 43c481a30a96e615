// `maca inspect` on GPTQ checkpoints (runs the built binary): the per-layer
// listing and summary for the fixture checkpoint and for a run directory
// holding gptq/, and exit code 1 naming the layer when a layer is damaged.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>

#include "gptq_test_util.h"
#include "io/safetensors.h"

#include "common/run_maca.h"

namespace {

namespace fs = std::filesystem;

const fs::path kCheckpoint = fs::path(MACA_FIXTURES) / "gptq" / "llama";

using test_support::contains;
using test_support::run_maca;

class InspectGptq : public maca::test::TempDirTest {};

TEST_F(InspectGptq, ListsAndChecksEveryLayer) {
  const auto r = run_maca("inspect " + kCheckpoint.string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "gptq: 14 layers, 4-bit, group size 32, asym")) << r.output;
  EXPECT_TRUE(contains(r.output, "checkpoint_format gptq_v2")) << r.output;
  EXPECT_TRUE(contains(r.output, "model.layers.1.mlp.down_proj [64, 128] 4-bit g32 asym act-order gptq_v2 packed"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "gptq check: all 14 layers ok")) << r.output;
}

TEST_F(InspectGptq, RunDirectoryHoldingGptq) {
  fs::copy(kCheckpoint, dir_ / "gptq");
  const auto r = run_maca("inspect " + dir_.string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "gptq check: all 14 layers ok")) << r.output;
}

TEST_F(InspectGptq, DamagedLayerFailsWithItsName) {
  fs::copy(kCheckpoint, dir_);
  const std::string layer = "model.layers.1.self_attn.v_proj";
  std::vector<std::pair<std::string, maca::Tensor>> tensors;
  {
    const auto file = maca::io::SafetensorsFile::open(kCheckpoint / "model.safetensors");
    for (const std::string& n : file->names()) tensors.emplace_back(n, file->view(n).clone());
  }
  for (auto& [name, t] : tensors)
    if (name == layer + ".g_idx") t.data<int32_t>()[0] = 99;
  maca::io::write_safetensors(dir_ / "model.safetensors", tensors);
  const auto r = run_maca("inspect " + dir_.string());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, layer + " FAILED")) << r.output;
  EXPECT_TRUE(contains(r.output, "gptq check: 1 of 14 layers FAILED, first: " + layer)) << r.output;
}

}  // namespace
