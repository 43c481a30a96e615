// User-level checks of the CUDA ops' host-side id arguments (token ids,
// targets), made on the host before any launch. Defined in id_checks.cpp,
// compiled by the C++ compiler, so the messages are formatted like the CPU
// kernels' (the .cu files cannot include fmt).
#pragma once

#include <cstdint>
#include <span>

namespace maca::kernels::cuda {

// Throws maca::Error "<what> <id> at <index_name> <i> is outside the
// vocabulary [0, <vocab>)" for the first of `ids` outside [0, vocab), e.g.
// what = "token id", index_name = "position".
void check_ids_in_vocab(std::span<const int32_t> ids, int64_t vocab, const char* what, const char* index_name);

}  // namespace maca::kernels::cuda
