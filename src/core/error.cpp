#include "core/error.h"

namespace maca {

void assert_fail(const char* expr, const char* file, int line, const std::string& msg) {
  throw std::logic_error(fmt::format("internal error (bug in maca): {} failed at {}:{}{}{}", expr, file,
                                     line, msg.empty() ? "" : ": ", msg));
}

}  // namespace maca
