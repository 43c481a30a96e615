// The options maca understands, declared in one place.
//
// Each area declares its section of keys in one function in options.cpp
// (run.*, model.*, data.*, eval.*, calib.*, export.*, inspect.*, sweep.*);
// quant.* comes from the quant area (quant::declare_options: the shared keys
// and every registered method's own), which is why this file sits above both
// config and quant.
// builtin_schema() holds all of them, so a single YAML file can configure
// every subcommand of a job; each subcommand's --help shows the sections it
// reads. A new option is one entry in its area's function: key, default,
// help and optional check.
#pragma once

#include "config/schema.h"

namespace maca::config {

void declare_run_options(Schema& schema);      // run.device, run.threads, run.log_level, run.dir
void declare_model_options(Schema& schema);    // model.path
void declare_data_options(Schema& schema);     // data.search_path
void declare_eval_options(Schema& schema);     // eval.data, eval.format, eval.ctx, ...
void declare_calib_options(Schema& schema);    // calib.data, calib.sampler, calib.maca.*, ...
void declare_export_options(Schema& schema);   // export.gptq, export.fake_quant, export.dtype
void declare_inspect_options(Schema& schema);  // inspect.tensors
void declare_sweep_options(Schema& schema);    // sweep.file, sweep.slurm, sweep.out, ...

// Every declared option (built once, on first use).
const Schema& builtin_schema();

}  // namespace maca::config
