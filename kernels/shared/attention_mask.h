// The index logic of attention (backend/ops.h: attention, attention_cached)
// shared by the CUDA kernel (kernels/cuda/attention.cu) and its host test
// (tests/backend/test_attention_mask.cpp), which checks it against a brute-force
// enumeration: which keys a query sees, how the queries are split into the
// work items of the kernel's thread blocks, and which key tiles a block walks.
//
// Both entry points describe a sequence the same way (AttentionSeq): its
// queries are rows q_row, q_row + 1, … of q/out at positions q_pos, q_pos + 1,
// …; its keys/values are rows 0, 1, … of a key block that starts at element
// offset k_off of k/v, at positions k_pos, k_pos + 1, …. Packed sequences have
// q_pos = k_pos = 0 and their keys at their own rows; a cached sequence's keys
// are the rows of its cache slot and its queries the newest of their positions.
//
// The masks are those of kernels/cpu/attention.cpp: a query at position p sees
// the keys at positions [first_visible(p), p], where first_visible is k_pos, or
// with a sliding window w > 0 the later of k_pos and p − w + 1 (the last w keys,
// itself included).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/shared/hd.h"

namespace maca::kernels::shared {

// Keys per shared-memory tile of the CUDA kernel (one per lane of a warp).
inline constexpr int kAttentionKeyTile = 32;

struct AttentionSeq {
  int64_t q_row, q_len, q_pos;  // queries: rows [q_row, q_row + q_len) at positions q_pos, …
  int64_t k_off, k_pos;         // keys: element offset of row 0 in k/v, its position
};

// The first key position a query at `query_pos` sees (window <= 0: no window).
MACA_HD inline int64_t attention_first_visible(int64_t query_pos, int64_t k_pos, int64_t window) {
  const int64_t w = query_pos - window + 1;
  return window > 0 && w > k_pos ? w : k_pos;
}

// Whether a query at `query_pos` sees the key at `key_pos` (a key of a
// sequence whose first key is at k_pos): causal, and inside the window.
MACA_HD inline bool attention_visible(int64_t query_pos, int64_t key_pos, int64_t k_pos, int64_t window) {
  return key_pos <= query_pos && key_pos >= attention_first_visible(query_pos, k_pos, window);
}

// A kernel work item: `rows` consecutive queries of one sequence, the first at
// row q_row of q/out and position q_pos, with that sequence's key block.
struct AttentionTile {
  int64_t q_row, q_pos, k_off, k_pos;
  int64_t rows;
};

// How a thread block of `block_rows` query rows is filled: `heads` query
// heads of one kv-head group (heads divides group, so they share the kv head)
// times `tile_q` consecutive queries; heads · tile_q <= block_rows. Packing
// the heads of a group lets a block with few queries (decoding) still use its
// rows, and every row of the block reads the same K/V tiles.
struct AttentionBlockShape {
  int64_t heads, tile_q;
};
inline AttentionBlockShape attention_block_shape(int64_t group, int64_t block_rows) {
  int64_t heads = 1;
  for (int64_t h = 1; h <= group && h <= block_rows; ++h)
    if (group % h == 0) heads = h;
  return {heads, block_rows / heads};
}

// Row r of a block (r < heads · rows of its tile): query r / heads of the
// tile (0-based), head r % heads of the block's heads. Queries vary slowest,
// so a warp's consecutive rows are at few positions.
MACA_HD inline int64_t attention_row_query(int64_t r, int64_t heads) { return r / heads; }
MACA_HD inline int64_t attention_row_head(int64_t r, int64_t heads) { return r % heads; }

// Positions [first, last] of the keys that rows [r0, r1) of a block over tile
// t see (r0 < r1 <= heads · t.rows): from the first row's first visible key
// to the last row's own position. Rows 0 … heads · t.rows give the tile's keys.
struct AttentionKeyRange {
  int64_t first, last;
};
MACA_HD inline AttentionKeyRange attention_rows_keys(const AttentionTile& t, int64_t r0, int64_t r1, int64_t heads,
                                                     int64_t window) {
  return {attention_first_visible(t.q_pos + attention_row_query(r0, heads), t.k_pos, window),
          t.q_pos + attention_row_query(r1 - 1, heads)};
}
// The first key tile of a block whose keys start at position `first`: tiles
// start at multiples of kAttentionKeyTile, so a key's place in its tile (the
// lane that scores it) and the tiles a query's keys fall into do not depend
// on where its block starts.
MACA_HD inline int64_t attention_first_key_tile(int64_t first) { return first - first % kAttentionKeyTile; }

// Whether the key tile [k0, k0 + n) holds a key of range r.
MACA_HD inline bool attention_keys_overlap(const AttentionKeyRange& r, int64_t k0, int64_t n) {
  return k0 <= r.last && k0 + n - 1 >= r.first;
}

// The work items: every sequence's queries cut into tiles of tile_q (the last
// one shorter), in sequence order.
inline std::vector<AttentionTile> attention_tiles(std::span<const AttentionSeq> seqs, int64_t tile_q) {
  std::vector<AttentionTile> tiles;
  for (const AttentionSeq& s : seqs)
    for (int64_t i0 = 0; i0 < s.q_len; i0 += tile_q)
      tiles.push_back({s.q_row + i0, s.q_pos + i0, s.k_off, s.k_pos, s.q_len - i0 < tile_q ? s.q_len - i0 : tile_q});
  return tiles;
}

}  // namespace maca::kernels::shared
