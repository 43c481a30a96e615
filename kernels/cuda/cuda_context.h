// CUDA backend context: one stream and one cuBLAS handle per device, created
// explicitly and owned by the Context.
#pragma once

#include <memory>

#include "backend/context.h"

namespace maca::kernels::cuda {

// Visible CUDA devices; 0 when no driver or GPU is present (never throws).
int device_count();
// Throws maca::Error when the device does not exist.
std::unique_ptr<backend::Context> create_context(Device device);

}  // namespace maca::kernels::cuda
