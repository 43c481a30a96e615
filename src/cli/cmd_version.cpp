#include <fmt/format.h>

#include <string>
#include <vector>

#include "backend/context.h"
#include "backend/op_table.h"
#include "cli/commands.h"
#include "parallel/device_comm.h"

namespace maca::cli {
namespace {

// "all 23 ops" or "22 of 23 ops; missing: attention".
std::string op_coverage(const backend::OpTable& table) {
  const std::vector<backend::OpSupport> ops = backend::op_support(table);
  std::vector<std::string> missing;
  for (const auto& op : ops)
    if (!op.supported) missing.push_back(op.op);
  if (missing.empty()) return fmt::format("all {} ops", ops.size());
  return fmt::format("{} of {} ops; missing: {}", ops.size() - missing.size(), ops.size(), fmt::join(missing, ", "));
}

}  // namespace

Command version_command() {
  return {.name = "version",
          .summary = "print the version and the backends this build has",
          .description = "Prints maca's version, the backends built in with the ops each implements, the visible "
                         "CUDA devices and whether NCCL is built in: what run.device=auto can pick here.",
          .sections = {},
          .flags = {},
          .positional_flag = "",
          .logs_config = false,
          .run = [](const config::Config&) {
            fmt::print("maca {}\n", MACA_VERSION);
            fmt::print("backend cpu: {}\n", op_coverage(*backend::backend_ops(DeviceKind::Cpu)));
            const backend::OpTable* cuda = backend::backend_ops(DeviceKind::Cuda);
            if (!cuda) {
              fmt::print("backend cuda: not built (configure with -DMACA_WITH_CUDA=ON where nvcc is installed)\n");
              return 0;
            }
            fmt::print("backend cuda: {}; {} device(s) visible; NCCL {}\n", op_coverage(*cuda),
                       backend::cuda_device_count(), parallel::built_with_nccl() ? "built" : "not built");
            return 0;
          }};
}

}  // namespace maca::cli
