// The rounding-method seam. Every method (rtn, gptq, gptaq, snrq, ksnrq, ...)
// lives in its own file under src/quant/, declares what the calibration pass
// must give it (Needs), owns its options (quant.<name>.*, declared with help
// text in the schema) and rounds one layer from a LayerStats value. The
// pipeline asks the method what to accumulate and never compares method
// names; registry.cpp lists the methods. What a method derives from the
// statistics alone (factors, column order) it asks for in prep_request();
// the pipeline prepares that once per group (quant/prepared_stats.h) and
// hands it to round() for each layer or row slice. Adding one is a new file defining a
// MethodInfo plus its line in registry.cpp (docs/architecture.md shows it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "backend/context.h"
#include "config/config.h"
#include "core/quantized.h"
#include "core/tensor.h"
#include "quant/prepared_stats.h"
#include "quant/quantize.h"

namespace maca::quant {

// What a method needs from the calibration pass (algorithms.md §2, §4).
struct Needs {
  bool hessian = false;       // H = Σ w x_q x_qᵀ (calibration data at all)
  bool cross = false;         // D = Σ w (x_fp − x_q) x_qᵀ: the full-precision stream too
  bool sample_alpha = false;  // D with the per-sequence α_s of sequence_alpha() folded in
};

// Where the layer sits, for methods that carry a value from one block to the
// next (SNRQ's closed-form α with its one-block lag per layer type).
struct LayerSite {
  std::string name;  // "model.layers.3.self_attn.q_proj"
  std::string type;  // "self_attn.q_proj"
  int block = 0;
  // α* of the same layer type in the previous block (LayerRecord::alpha_star), if it has one.
  std::optional<double> previous_alpha_star;
};

class Method {
 public:
  virtual ~Method() = default;
  virtual const char* name() const = 0;
  virtual Needs needs() const = 0;
  // Checks the options against a layer with `cols` inputs; throws ConfigError
  // naming the key (and the layer). The default checks the shared grid.
  virtual void validate(int64_t cols, const std::string& layer) const;
  // α_s of calibration sequence `index` (its position in the whole set) when
  // needs().sample_alpha; deterministic in the run's seed and the index.
  virtual double sequence_alpha(int64_t index) const;
  // What round() needs prepared from the group's statistics (default:
  // nothing, for a method without calibration data).
  virtual PrepRequest prep_request() const { return {}; }
  // Rounds W (host F32 [rows, cols]; a tile-aligned row slice of the layer is
  // allowed, see kRowTile) with the statistics prepared for prep_request(),
  // with the backend ops of `ctx` on ctx's device (the model's: a GPU's when
  // the job runs there). Never returns NaN; bad input is an error naming
  // site.name.
  virtual QuantizedLinear round(backend::Context& ctx, const Tensor& W, const PreparedStats& prep,
                                const LayerSite& site) const = 0;
  // Prepares `stats` for this method, then rounds W: one layer on its own.
  QuantizedLinear round_layer(backend::Context& ctx, const Tensor& W, const LayerStats& stats,
                              const LayerSite& site) const;

  const QuantOptions& grid() const { return grid_; }

 protected:
  explicit Method(QuantOptions grid) : grid_(std::move(grid)) {}
  QuantOptions grid_;
};

// One registered method.
struct MethodInfo {
  const char* name;
  const char* help;                   // one line, for quant.method's help
  void (*declare)(config::Schema&);   // its quant.<name>.* options (nullptr: none)
  std::unique_ptr<Method> (*create)(const QuantOptions& grid, const config::Config& cfg);
};

// Every method, in the order --help lists them (registry.cpp).
std::span<const MethodInfo* const> methods();

// Declares quant.method and the shared quant.* options, then each method's.
void declare_options(config::Schema& schema);

// The shared grid and damping options (quant.bits, quant.group_size, ...).
QuantOptions read_grid_options(const config::Config& cfg);

// The method quant.method names, with its options from `cfg` (which holds
// the options of declare_options, e.g. the builtin schema's).
std::unique_ptr<Method> create_method(const config::Config& cfg);

// α* from a rounded layer's per-row terms (QuantizedLinear::alpha_terms;
// defined with SNRQ, which fills them):
// clamp(Σ num / Σ den, 0, 1), summed in row order so that any row split
// gives the same value; nullopt when the layer has none (or Σ den = 0).
std::optional<double> closed_form_alpha(const QuantizedLinear& q);

}  // namespace maca::quant
