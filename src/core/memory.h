// Process memory accounting (Linux /proc), for reports and benchmarks.
#pragma once

#include <cstdint>

namespace maca {

int64_t peak_rss_bytes();     // VmHWM
int64_t current_rss_bytes();  // VmRSS

}  // namespace maca
