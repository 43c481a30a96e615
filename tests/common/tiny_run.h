// A `maca quantize` job on the tiny llama fixture (2 blocks) for tests that
// run the binary: a pre-tokenized calibration file and the command-line
// settings, so every test quantizes the same small job.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace test_support {

// `count` deterministic token ids < 256 as raw int32 (a `.tokens` file).
inline void write_calib_tokens(const std::filesystem::path& file, int64_t count, uint32_t seed = 12345) {
  std::vector<int32_t> ids(static_cast<size_t>(count));
  uint32_t x = seed;
  for (auto& id : ids) id = static_cast<int32_t>((x = x * 1103515245u + 12345u) >> 16) % 256;
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(ids.data()), static_cast<std::streamsize>(ids.size() * 4));
}

// `maca quantize` arguments (after the binary) for the tiny llama: GPTQ W4
// g32 on `samples` sequences of `seq_len` tokens, no evaluation, one thread.
inline std::vector<std::string> tiny_quantize_args(const std::filesystem::path& calib, const std::filesystem::path& run_dir,
                                                   int samples = 8, int seq_len = 64) {
  return {"quantize",
          "--set", std::string("model.path=") + MACA_FIXTURES + "/model/llama",
          "--set", "calib.data=" + calib.string(),
          "--set", "calib.n_samples=" + std::to_string(samples),
          "--set", "calib.seq_len=" + std::to_string(seq_len),
          "--set", "quant.bits=4", "--set", "quant.group_size=32",
          "--set", "eval.fp=false", "--set", "eval.quantized=false",
          "--set", "run.threads=1",
          "--set", "run.dir=" + run_dir.string()};
}

// The bytes of a file ("" when missing).
inline std::string file_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace test_support
