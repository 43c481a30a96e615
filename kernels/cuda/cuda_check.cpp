#include "kernels/cuda/cuda_check.h"

#include "core/error.h"

namespace maca::kernels::cuda {

void throw_library_error(const char* library, int code, const char* what, const char* stmt, const char* file,
                         int line) {
  MACA_THROW(Error, "{} error {} ({}) in {} at {}:{}", library, code, what, stmt, file, line);
}

void throw_invariant(const char* condition, const char* message, const char* file, int line) {
  assert_fail(condition, file, line, message);
}

}  // namespace maca::kernels::cuda
