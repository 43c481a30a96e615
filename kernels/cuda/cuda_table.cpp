#include "kernels/cuda/cuda_ops.h"

namespace maca::kernels::cuda {

// Ops without an entry have no CUDA kernel yet; backend::job_device never
// picks this backend for "auto" while any is missing.
const backend::OpTable& op_table() {
  static const backend::OpTable table{.backend = "cuda"};
  return table;
}

}  // namespace maca::kernels::cuda
