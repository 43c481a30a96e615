// Block checkpoint files: every field round-trips, damaged files are clear
// errors, and failed or killed writes leave the previous state intact.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "checkpoint/block_file.h"
#include "checkpoint_test_util.h"
#include "io/io_test_util.h"

namespace maca::checkpoint {
namespace {

using test::expect_file_error;
using test::LayerShape;
using test::make_layer;

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A block with four layers covering bits 2/3/4/8, act-order, static groups,
// asymmetric zeros, group_size -1 and a partial last group.
BlockCheckpoint sample_block(int block, uint32_t seed = 1) {
  BlockCheckpoint ck;
  ck.block = block;
  ck.fingerprint = "0123456789abcdef";
  const std::string p = "model.layers." + std::to_string(block) + ".";
  ck.layers.emplace_back(p + "self_attn.q_proj", make_layer({24, 64, 4, 32, true, false, false}, seed));
  ck.layers.emplace_back(p + "self_attn.k_proj", make_layer({8, 64, 3, 16, false, true, false}, seed + 1));
  ck.layers.emplace_back(p + "mlp.gate_proj", make_layer({40, 64, 2, -1, false, false, false}, seed + 2));
  ck.layers.emplace_back(p + "mlp.down_proj", make_layer({16, 40, 8, 16, true, true, true}, seed + 3));
  ck.skipped = {p + "mlp.up_proj"};
  ck.stats = {{"seconds", {{"forward", 1.25}, {"quantize", 3.5}}},
              {"layers", {{{"name", p + "self_attn.q_proj"}, {"loss", 0.125}, {"damp", 0.01}}}}};
  return ck;
}

void expect_same_block(const BlockCheckpoint& a, const BlockCheckpoint& b) {
  EXPECT_EQ(a.block, b.block);
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  EXPECT_EQ(a.skipped, b.skipped);
  EXPECT_EQ(a.stats, b.stats);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t i = 0; i < a.layers.size(); ++i) {
    SCOPED_TRACE(a.layers[i].first);
    EXPECT_EQ(a.layers[i].first, b.layers[i].first);
    test::expect_same_layer(a.layers[i].second, b.layers[i].second);
  }
}

// Opens a written block file for editing with the raw HDF5 API.
struct RawFile {
  explicit RawFile(const std::filesystem::path& path) : id(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)) {
    EXPECT_GE(id, 0);
  }
  ~RawFile() { H5Fclose(id); }
  // Replaces dataset `name` of `group` with an int32 one of the given shape and value.
  void replace_int32(const std::string& group, const std::string& name, std::vector<hsize_t> shape, int32_t value) {
    const std::string path = group + "/" + name;
    ASSERT_GE(H5Ldelete(id, path.c_str(), H5P_DEFAULT), 0);
    hsize_t n = 1;
    for (hsize_t d : shape) n *= d;
    std::vector<int32_t> data(n, value);
    const hid_t space = H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr);
    const hid_t set = H5Dcreate2(id, path.c_str(), H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(set, 0);
    EXPECT_GE(H5Dwrite(set, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), 0);
    H5Dclose(set);
    H5Sclose(space);
  }
  hid_t id;
};

class BlockFileTest : public test::TempDirTest {
 protected:
  void TearDown() override {
    ::unsetenv("MACA_FAULT_CHECKPOINT");
    ::chmod(dir_.c_str(), 0755);
    TempDirTest::TearDown();
  }
  std::filesystem::path ckpt() const { return dir_ / "checkpoint"; }
};

TEST(BlockPath, FiveDigitIndex) {
  EXPECT_EQ(block_path("/run/checkpoint", 7), std::filesystem::path("/run/checkpoint/block-00007.h5"));
  EXPECT_EQ(block_path("ck", 123456).filename(), "block-123456.h5");
}

TEST_F(BlockFileTest, RoundTripsEveryField) {
  const BlockCheckpoint ck = sample_block(7);
  write_block(ckpt(), ck);
  EXPECT_TRUE(std::filesystem::exists(ckpt() / "block-00007.h5"));
  EXPECT_FALSE(std::filesystem::exists(ckpt() / "block-00007.h5.tmp"));
  expect_same_block(read_block(block_path(ckpt(), 7)), ck);
}

TEST_F(BlockFileTest, RewritingABlockReplacesIt) {
  write_block(ckpt(), sample_block(2, 1));
  const BlockCheckpoint second = sample_block(2, 50);
  write_block(ckpt(), second);
  expect_same_block(read_block(block_path(ckpt(), 2)), second);
}

TEST_F(BlockFileTest, EmptyBlockAndLargeStats) {
  BlockCheckpoint empty;
  empty.block = 0;
  write_block(ckpt(), empty);
  expect_same_block(read_block(block_path(ckpt(), 0)), empty);

  // Stats beyond HDF5's 64 KiB compact attribute limit.
  BlockCheckpoint big = sample_block(1);
  big.stats["log"] = std::string(300000, 'x');
  write_block(ckpt(), big);
  expect_same_block(read_block(block_path(ckpt(), 1)), big);
}

TEST_F(BlockFileTest, TruncatedOrGarbageFilesAreFileErrors) {
  write_block(ckpt(), sample_block(3));
  const std::string bytes = read_bytes(block_path(ckpt(), 3));
  const std::filesystem::path bad = dir_ / "bad.h5";
  for (const size_t keep : {bytes.size() / 2, bytes.size() - 1, size_t{100}, size_t{0}}) {
    SCOPED_TRACE(keep);
    test::write_bytes(bad, bytes.substr(0, keep));
    expect_file_error([&] { read_block(bad); }, {bad.string()});
  }
  std::mt19937 rng(5);
  std::string noise(bytes.size(), '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  test::write_bytes(bad, noise);
  expect_file_error([&] { read_block(bad); }, {bad.string(), "file signature not found"});
  expect_file_error([&] { read_block(dir_ / "absent.h5"); }, {"absent.h5"});
}

TEST_F(BlockFileTest, MissingDatasetIsNamed) {
  write_block(ckpt(), sample_block(3));
  const std::filesystem::path file = block_path(ckpt(), 3);
  {
    RawFile raw(file);
    ASSERT_GE(H5Ldelete(raw.id, "model.layers.3.mlp.gate_proj/perm", H5P_DEFAULT), 0);
  }
  expect_file_error([&] { read_block(file); }, {file.string(), "model.layers.3.mlp.gate_proj", "'perm' is missing"});
}

TEST_F(BlockFileTest, WrongShapeIsNamed) {
  write_block(ckpt(), sample_block(3));
  const std::filesystem::path file = block_path(ckpt(), 3);
  {
    RawFile raw(file);
    raw.replace_int32("model.layers.3.self_attn.q_proj", "zeros", {2, 23}, 8);  // rows is 24
  }
  expect_file_error([&] { read_block(file); },
                    {file.string(), "model.layers.3.self_attn.q_proj", "'zeros' has shape [2, 23], expected [2, 24]"});
}

TEST_F(BlockFileTest, OutOfRangeIndexIsNamed) {
  write_block(ckpt(), sample_block(3));
  const std::filesystem::path file = block_path(ckpt(), 3);
  {
    RawFile raw(file);
    raw.replace_int32("model.layers.3.self_attn.q_proj", "g_idx", {64}, 2);  // 2 groups: 0..1
  }
  expect_file_error([&] { read_block(file); }, {file.string(), "'g_idx' holds 2, outside 0..1"});
}

TEST_F(BlockFileTest, WrongFormatVersionIsNamed) {
  write_block(ckpt(), sample_block(3));
  const std::filesystem::path file = block_path(ckpt(), 3);
  {
    RawFile raw(file);
    const hid_t attr = H5Aopen(raw.id, "format_version", H5P_DEFAULT);
    const int64_t v = 99;
    H5Awrite(attr, H5T_NATIVE_INT64, &v);
    H5Aclose(attr);
  }
  expect_file_error([&] { read_block(file); }, {file.string(), "format version 99"});
}

TEST_F(BlockFileTest, UnwritableDirectoryIsAFileErrorAndLeavesNothing) {
  std::filesystem::create_directories(ckpt());
  ::chmod(ckpt().c_str(), 0555);
  if (std::ofstream(ckpt() / "probe").good())  // root ignores permissions
    GTEST_SKIP() << "running with privileges that bypass chmod 0555; the permission check cannot be tested";
  expect_file_error([&] { write_block(ckpt(), sample_block(4)); }, {"block-00004.h5", "Permission denied", "run.dir"});
  EXPECT_TRUE(std::filesystem::is_empty(ckpt()));
}

TEST_F(BlockFileTest, DirectoryThatIsAFileIsAFileError) {
  test::write_bytes(ckpt(), "not a directory");
  expect_file_error([&] { write_block(ckpt(), sample_block(4)); }, {"block-00004.h5", "run.dir"});
}

TEST_F(BlockFileTest, DiskFullKeepsThePreviousFileAndRemovesTheTemporary) {
  write_block(ckpt(), sample_block(3, 1));
  const std::string before = read_bytes(block_path(ckpt(), 3));
  ::setenv("MACA_FAULT_CHECKPOINT", "enospc", 1);
  expect_file_error([&] { write_block(ckpt(), sample_block(3, 99)); },
                    {"block-00003.h5", "No space left on device", "finished blocks resume"});
  expect_file_error([&] { write_block(ckpt(), sample_block(4)); }, {"block-00004.h5"});
  EXPECT_EQ(read_bytes(block_path(ckpt(), 3)), before);
  EXPECT_EQ(finished_blocks(ckpt()), std::vector<int>{3});
  EXPECT_EQ(remove_stale_temporaries(ckpt()), 0);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(ckpt()), {}), 1);
}

TEST_F(BlockFileTest, KillWhileWritingLeavesOnlyATemporary) {
  write_block(ckpt(), sample_block(4));
  const std::string before = read_bytes(block_path(ckpt(), 4));
  EXPECT_EXIT(
      {
        ::setenv("MACA_FAULT_CHECKPOINT", "kill:5", 1);
        write_block(ckpt(), sample_block(5));
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGKILL), "");
  EXPECT_FALSE(std::filesystem::exists(block_path(ckpt(), 5)));
  EXPECT_TRUE(std::filesystem::exists(ckpt() / "block-00005.h5.tmp"));  // the child died mid-write
  EXPECT_EQ(finished_blocks(ckpt()), std::vector<int>{4});
  EXPECT_EQ(read_bytes(block_path(ckpt(), 4)), before);
  EXPECT_EQ(remove_stale_temporaries(ckpt()), 1);
  EXPECT_FALSE(std::filesystem::exists(ckpt() / "block-00005.h5.tmp"));

  // Other blocks are written normally.
  ::setenv("MACA_FAULT_CHECKPOINT", "kill:5", 1);
  write_block(ckpt(), sample_block(6));
  EXPECT_EQ(finished_blocks(ckpt()), (std::vector<int>{4, 6}));
}

TEST_F(BlockFileTest, UnknownFaultIsAnError) {
  ::setenv("MACA_FAULT_CHECKPOINT", "kill:x", 1);
  EXPECT_THROW(write_block(ckpt(), sample_block(1)), maca::Error);
}

TEST_F(BlockFileTest, FinishedBlocksListsOnlyCompleteFiles) {
  EXPECT_TRUE(finished_blocks(dir_ / "absent").empty());
  std::filesystem::create_directories(ckpt());
  for (const char* name :
       {"block-00010.h5", "block-00001.h5", "block-00002.h5.tmp", "block-x.h5", "notes.txt", "block-00003.h5.bak"})
    test::write_bytes(ckpt() / name, "x");
  EXPECT_EQ(finished_blocks(ckpt()), (std::vector<int>{1, 10}));
  EXPECT_EQ(remove_stale_temporaries(ckpt()), 1);
  EXPECT_FALSE(std::filesystem::exists(ckpt() / "block-00002.h5.tmp"));
  EXPECT_TRUE(std::filesystem::exists(ckpt() / "notes.txt"));
}

}  // namespace
}  // namespace maca::checkpoint
