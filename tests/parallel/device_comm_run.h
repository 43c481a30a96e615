// Runs tests/parallel/device_comm_ranks (MACA_DEVICE_COMM_RANKS) on one rank
// or under mpirun (MACA_MPIEXEC) with P ranks, with a hang timeout, and
// returns its exit and output.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/child_process.h"

namespace test_support {

struct RanksRun {
  ChildExit exit;
  std::string output;
};

// `ranks` = 0: the program alone (no launcher, one serial rank).
inline RanksRun run_device_comm_ranks(int ranks, const std::vector<std::string>& args, double timeout_s = 120) {
  std::vector<std::string> argv;
#ifdef MACA_MPIEXEC
  if (ranks > 0) argv = {MACA_MPIEXEC, "--oversubscribe", "--bind-to", "none", "-np", std::to_string(ranks)};
#else
  if (ranks > 0) ADD_FAILURE() << "mpirun wanted, but the tests were built without MPI";
#endif
  argv.push_back(MACA_DEVICE_COMM_RANKS);
  argv.insert(argv.end(), args.begin(), args.end());
  Child c = spawn(
      argv, {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", "OMPI_MCA_rmaps_base_oversubscribe=1"});
  if (!read_to_end(c, timeout_s))
    ADD_FAILURE() << "device_comm_ranks on " << ranks << " ranks did not end within " << timeout_s << " s:\n"
                  << c.output;
  RanksRun r;
  r.exit = wait_child(c);
  r.output = c.output;
  return r;
}

}  // namespace test_support
