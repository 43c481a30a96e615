// The one-rank communicator: every collective is the identity. Used when
// maca runs as a plain process, and as the reference in tests.
#pragma once

#include <memory>

#include "parallel/comm.h"

namespace maca::parallel {

std::unique_ptr<Comm> make_serial_comm();

}  // namespace maca::parallel
