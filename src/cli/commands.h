// The subcommands of `maca`, each defined in its own cmd_<name>.cpp.
#pragma once

#include <vector>

#include "cli/command.h"

namespace maca::cli {

Command quantize_command();  // calibrate, round, export, evaluate
Command eval_command();     // perplexity of a model on a text
Command export_command();   // outputs of a quantize run from its checkpoint
Command inspect_command();  // architecture, tensors and files of a model
Command version_command();  // the version
Command sweep_command();    // a grid of quantize runs, locally or as a Slurm array, and their results table
Command generate_command();  // text from a model, batched and KV-cached

// Every subcommand, in the order of the top-level help.
std::vector<Command> all_commands();

}  // namespace maca::cli
