#include "kernels/cuda/id_checks.h"

#include "core/error.h"

namespace maca::kernels::cuda {

void check_ids_in_vocab(std::span<const int32_t> ids, int64_t vocab, const char* what, const char* index_name) {
  for (size_t i = 0; i < ids.size(); ++i)
    MACA_CHECK(ids[i] >= 0 && ids[i] < vocab, "{} {} at {} {} is outside the vocabulary [0, {})", what, ids[i],
               index_name, i, vocab);
}

}  // namespace maca::kernels::cuda
