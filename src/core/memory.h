// Process memory accounting (Linux /proc), for reports and benchmarks.
#pragma once

#include <cstdint>

namespace maca {

int64_t peak_rss_bytes();     // VmHWM
int64_t current_rss_bytes();  // VmRSS

// Serves every allocation of kLargeAllocation bytes or more with its own
// mapping (glibc's M_MMAP_THRESHOLD, fixed), so freeing a layer's temporary
// buffers returns them to the system at once. glibc otherwise raises the
// threshold after each large free (up to 32 MiB), and the per-layer
// buffers then come from the heap, where fragmentation keeps freed memory
// resident: the peak RSS a job reports (and a scheduler bills) grows block
// after block. Call once at start; a no-op where the C library is not glibc.
void use_mapped_large_allocations();
inline constexpr int64_t kLargeAllocation = int64_t{1} << 20;

}  // namespace maca
