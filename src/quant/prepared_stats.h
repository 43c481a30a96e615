// A layer group's statistics prepared for rounding (algorithms.md §2 steps
// 2–3, §4): what a Hessian method derives from H and D alone, before it looks
// at any weight row: the column order, the dead inputs, the damping and the
// damped factors, D in double precision. The layers of a group share H, so
// the pipeline prepares once per group, and every row slice of a layer reads
// the same values, so in rows mode the ranks of a node can share one copy:
// the [n, n] matrices are allocated through a MatrixSource (fresh memory, or
// a node-shared window, pipeline/block_quantizer.cpp) and the rest is small
// (pack_small / unpack_small).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "backend/context.h"
#include "core/tensor.h"
#include "quant/hessian_prep.h"
#include "quant/quantize.h"

namespace maca::quant {

// The statistics of the layer's group, finalized (scaled by 2/Σw).
struct LayerStats {
  const Tensor* h = nullptr;  // H, F32 [cols, cols] when needs().hessian
  const Tensor* d = nullptr;  // D, F32 [cols, cols] when needs().cross
};

// The order in which a method processes the columns.
enum class ColumnOrder {
  Input,           // as they are
  DiagDescending,  // by diag(H) descending (GPTQ's act-order); ties keep the input order
  DiagAscending,   // by diag(H) ascending (SNRQ decodes from the last); ties keep the input order
};

// What a method asks to be prepared (Method::prep_request).
struct PrepRequest {
  bool hessian = false;  // anything at all (false: a method without calibration data)
  ColumnOrder order = ColumnOrder::Input;
  FactorRequest factors{};
  bool cross = false;  // D as double, dead rows and columns zeroed
  // The [n, n] double matrices this asks for.
  int matrices() const;
};

struct PreparedStats {
  int64_t n = 0;               // inputs (0: nothing prepared)
  std::vector<int32_t> perm;   // processing position i holds input perm[i]
  std::vector<uint8_t> dead;   // [n], 1 where H_ii was 0
  DampedFactors factors;       // the damping finally used and the requested factors
  Tensor d;                    // F64 [n, n] D with dead rows and columns zeroed (cross)
};

// The next F64 [n, n] host matrix of a prepared value's storage.
using MatrixSource = std::function<Tensor()>;

// The matrices of `req` for n inputs, taken from `next` in a fixed order (the
// same on every rank) when ctx is the CPU; on a device they are made when
// prepared. The small fields stay empty.
PreparedStats allocate_prepared(const backend::Context& ctx, const PrepRequest& req, int64_t n,
                                const MatrixSource& next);

// Fills p (allocated for req and n) from the finalized statistics: checks
// them (non-finite entries, a missing H or D, an H that no damping makes
// positive definite: maca::Error naming `layer`), then the column order,
// dead inputs, damped factors (with ctx's ops) and D.
void prepare(backend::Context& ctx, const PrepRequest& req, const LayerStats& stats, const QuantOptions& grid,
             const std::string& layer, PreparedStats& p);

// Both, in fresh memory.
PreparedStats prepare(backend::Context& ctx, const PrepRequest& req, const LayerStats& stats, const QuantOptions& grid,
                      const std::string& layer);

// The fields that are not matrices (n, perm, dead, damp), for ranks that map
// the matrices another rank prepared.
std::vector<uint8_t> pack_small(const PreparedStats& p);
void unpack_small(std::span<const uint8_t> bytes, PreparedStats& p);

}  // namespace maca::quant
