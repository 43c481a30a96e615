// Where the calibration streams wait between blocks (calib.max_resident_gb).
//
// A quantize job moves every calibration batch's hidden states (one stream,
// two for asymmetric methods) through the blocks. By default they stay in
// f32 in memory: 4·tokens·hidden bytes per stream, 8.6 GB for 128 × 2048
// tokens of a 70B model. When the streams would exceed calib.max_resident_gb,
// the batches are made small enough that one batch's f32 streams fit the
// limit, and every batch that is not being forwarded waits in the overflow
// form (calib.overflow):
//  - spill: written to an unlinked scratch file under run.dir (pwrite/pread,
//    exact f32: the job's results do not change; the page cache may keep
//    what memory allows, and the kernel can drop it);
//  - bf16: rounded to bfloat16 in memory (half the bytes; not bit-exact: on
//    SmolLM2 the rounding moves about as much as with f32 statistics,
//    docs/results.md).
// Both keep the waiting data on the host, also for a GPU job.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "backend/context.h"
#include "core/tensor.h"

namespace maca::pipeline {

enum class StreamForm { F32, Bf16, Spill };

// Parses calib.overflow ("spill", "bf16"); other values are rejected by the schema.
StreamForm parse_overflow(const std::string& name);
const char* stream_form_name(StreamForm f);

// One scratch file a rank's spilled streams share: created under `dir`,
// unlinked at once (nothing is left behind after a kill), closed with the
// last stream that uses it.
class SpillFile;
std::shared_ptr<SpillFile> open_spill_file(const std::filesystem::path& dir, int rank);

// One batch's stream between blocks.
class StoredStream {
 public:
  StoredStream() = default;
  // Keeps `x` (F32 [tokens, hidden] on ctx's device) in `form` (`spill` only
  // for StreamForm::Spill).
  StoredStream(backend::Context& ctx, Tensor x, StreamForm form, std::shared_ptr<SpillFile> spill = nullptr);

  bool defined() const { return !shape_.empty(); }
  StreamForm form() const { return form_; }
  const Shape& shape() const { return shape_; }
  // Bytes it holds in memory now (0 while taken or spilled).
  int64_t resident_bytes() const;

  // The stream as F32 on ctx's device, to forward in place; the stream holds
  // nothing until store() gives it back (F32: the held tensor itself, no copy).
  Tensor take(backend::Context& ctx);
  // A fresh F32 copy on ctx's device; the stream keeps its data.
  Tensor copy(backend::Context& ctx) const;
  // Puts the (forwarded) states back in the stream's form.
  void store(backend::Context& ctx, Tensor x);

 private:
  Tensor decode(backend::Context& ctx) const;

  StreamForm form_ = StreamForm::F32;
  Shape shape_;
  Tensor held_;  // F32 on the device, or host BF16
  std::shared_ptr<SpillFile> spill_;
  int64_t offset_ = -1;  // byte offset in the spill file
};

}  // namespace maca::pipeline
