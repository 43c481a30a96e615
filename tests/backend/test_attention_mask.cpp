// The index logic of the CUDA attention kernel (kernels/shared/attention_mask.h)
// against brute-force enumerations, on the CPU: the visibility predicate, the
// block shape, the work items, the key ranges, and the kernel's walk over key
// tiles (every visible (query, key) pair scored exactly once, nothing else).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/shared/attention_mask.h"

namespace maca::kernels::shared {
namespace {

// Straight from the contract (backend/ops.h, kernels/cpu/attention.cpp): a
// query sees the keys up to itself, with a window only the last `window`, and
// only those the key block holds.
bool brute_visible(int64_t query_pos, int64_t key_pos, int64_t k_pos, int64_t window) {
  if (key_pos < k_pos || key_pos > query_pos) return false;
  return window <= 0 || query_pos - key_pos < window;
}

// A sequence with its key count (the key block holds positions [k_pos, k_pos + k_len)).
struct Case {
  AttentionSeq seq;
  int64_t k_len;
};

// Packed sequences (attention) and cache slots (attention_cached), q/out rows
// packed in order, like the two entry points build them.
std::vector<Case> random_cases(std::mt19937& rng, bool cached, int n) {
  std::uniform_int_distribution<int64_t> len(1, 90), extra(0, 40), pos(0, 200), slot(0, 5);
  std::vector<Case> cases;
  int64_t row = 0;
  for (int i = 0; i < n; ++i) {
    const int64_t q_len = len(rng);
    if (cached) {
      const int64_t k_len = q_len + extra(rng), k_pos = pos(rng);
      cases.push_back({{row, q_len, k_pos + k_len - q_len, slot(rng) * 1000, k_pos}, k_len});
    } else {
      cases.push_back({{row, q_len, 0, row * 8, 0}, q_len});
    }
    row += q_len;
  }
  return cases;
}

std::vector<AttentionSeq> seqs_of(const std::vector<Case>& cases) {
  std::vector<AttentionSeq> s;
  for (const Case& c : cases) s.push_back(c.seq);
  return s;
}

TEST(AttentionMask, VisibleMatchesBruteForce) {
  for (const int64_t k_pos : {0, 3, 100})
    for (const int64_t window : {-3, 0, 1, 2, 5, 32, 1000})
      for (int64_t q = k_pos; q < k_pos + 70; ++q) {
        const int64_t first = attention_first_visible(q, k_pos, window);
        EXPECT_EQ(first, window > 0 ? std::max(k_pos, q - window + 1) : k_pos) << q << " " << window;
        for (int64_t key = k_pos - 3; key < q + 5; ++key)
          EXPECT_EQ(attention_visible(q, key, k_pos, window), brute_visible(q, key, k_pos, window))
              << "query " << q << " key " << key << " k_pos " << k_pos << " window " << window;
      }
}

TEST(AttentionMask, BlockShapeIsTheLargestDivisorThatFits) {
  for (const int64_t block_rows : {16, 32})
    for (int64_t group = 1; group <= 80; ++group) {
      const AttentionBlockShape s = attention_block_shape(group, block_rows);
      int64_t best = 1;
      for (int64_t h = 1; h <= std::min(group, block_rows); ++h)
        if (group % h == 0) best = h;
      EXPECT_EQ(s.heads, best) << group;
      EXPECT_EQ(group % s.heads, 0);
      EXPECT_GE(s.tile_q, 1);
      EXPECT_LE(s.heads * s.tile_q, block_rows);
      EXPECT_GT(s.heads * (s.tile_q + 1), block_rows) << "a tile row more would still fit";
    }
}

TEST(AttentionMask, TilesAndRowsCoverEveryQueryAndHeadOnce) {
  std::mt19937 rng(7);
  for (const bool cached : {false, true})
    for (const int64_t tile_q : {1, 2, 3, 4, 6, 16, 32})
      for (const int64_t heads : {1, 3, 7}) {
        const std::vector<Case> cases = random_cases(rng, cached, 6);
        const std::vector<AttentionSeq> seqs = seqs_of(cases);
        // (q row, head in the block's group) -> times produced by some block row
        std::map<std::pair<int64_t, int64_t>, int> seen;
        for (const AttentionTile& t : attention_tiles(seqs, tile_q)) {
          ASSERT_GE(t.rows, 1);
          ASSERT_LE(t.rows, tile_q);
          // The tile lies inside one sequence and carries its key block.
          const auto owner = std::find_if(seqs.begin(), seqs.end(), [&](const AttentionSeq& s) {
            return t.q_row >= s.q_row && t.q_row + t.rows <= s.q_row + s.q_len;
          });
          ASSERT_NE(owner, seqs.end());
          EXPECT_EQ(t.q_pos - owner->q_pos, t.q_row - owner->q_row);
          EXPECT_EQ(t.k_off, owner->k_off);
          EXPECT_EQ(t.k_pos, owner->k_pos);
          for (int64_t r = 0; r < t.rows * heads; ++r) {
            const int64_t i = attention_row_query(r, heads), h = attention_row_head(r, heads);
            ASSERT_LT(i, t.rows);
            ASSERT_LT(h, heads);
            ++seen[{t.q_row + i, h}];
          }
        }
        int64_t rows = 0;
        for (const AttentionSeq& s : seqs) rows += s.q_len;
        EXPECT_EQ(static_cast<int64_t>(seen.size()), rows * heads);
        for (const auto& [key, n] : seen) EXPECT_EQ(n, 1) << "row " << key.first << " head " << key.second;
      }
}

TEST(AttentionMask, KeyRangesHoldEveryVisibleKeyAndStayInTheKeyBlock) {
  std::mt19937 rng(11);
  for (const bool cached : {false, true})
    for (const int64_t window : {0, 1, 4, 32, 70})
      for (const int64_t tile_q : {1, 4, 16, 32})
        for (const int64_t heads : {1, 2, 7}) {
          const std::vector<Case> cases = random_cases(rng, cached, 4);
          for (const Case& c : cases)
            for (const AttentionTile& t : attention_tiles(std::span<const AttentionSeq>(&c.seq, 1), tile_q)) {
              const int64_t used = t.rows * heads;
              for (int64_t r0 = 0; r0 < used; ++r0)
                for (const int64_t r1 : {r0 + 1, std::min(r0 + 4, used), std::min(r0 + 8, used), used}) {
                  const AttentionKeyRange range = attention_rows_keys(t, r0, r1, heads, window);
                  // Inside the key block: the kernel reads only rows the cache holds.
                  ASSERT_GE(range.first, c.seq.k_pos);
                  ASSERT_LE(range.last, c.seq.k_pos + c.k_len - 1);
                  ASSERT_LE(range.first, range.last);
                  bool first_seen = false, last_seen = false;
                  for (int64_t r = r0; r < r1; ++r) {
                    const int64_t qp = t.q_pos + attention_row_query(r, heads);
                    for (int64_t key = c.seq.k_pos; key < c.seq.k_pos + c.k_len; ++key) {
                      if (!brute_visible(qp, key, c.seq.k_pos, window)) continue;
                      ASSERT_GE(key, range.first) << "query " << qp;
                      ASSERT_LE(key, range.last) << "query " << qp;
                      first_seen |= key == range.first;
                      last_seen |= key == range.last;
                    }
                  }
                  EXPECT_TRUE(first_seen && last_seen) << "the range is not tight";
                }
            }
        }
}

// The kernel's loops over one block, without the arithmetic: the block walks
// key tiles of kAttentionKeyTile from the one holding its first key, loading
// the keys of its range; a warp of `rows_per_warp` rows skips the tiles its
// rows' range misses; lane j scores key k0 + j for each used row, counted
// when visible. Every visible (query, head, key) must be counted once, from a
// loaded key, and each query must see its own key.
TEST(AttentionMask, KernelWalkScoresEveryVisiblePairOnce) {
  std::mt19937 rng(13);
  constexpr int64_t kWarps = 4;
  for (const bool cached : {false, true})
    for (const int64_t window : {0, 1, 5, 32, 100})
      for (const int64_t group : {1, 2, 7, 8})
        for (const int64_t rows_per_warp : {4, 8}) {
          const AttentionBlockShape shape = attention_block_shape(group, kWarps * rows_per_warp);
          const std::vector<Case> cases = random_cases(rng, cached, 5);
          const std::vector<AttentionSeq> seqs = seqs_of(cases);
          std::map<std::tuple<int64_t, int64_t, int64_t>, int> scored;  // (q row, head, key position)
          for (const AttentionTile& t : attention_tiles(seqs, shape.tile_q)) {
            const int64_t used = t.rows * shape.heads;
            const AttentionKeyRange keys = attention_rows_keys(t, 0, used, shape.heads, window);
            const int64_t tile0 = attention_first_key_tile(keys.first);
            ASSERT_EQ(tile0 % kAttentionKeyTile, 0);
            ASSERT_LE(tile0, keys.first);
            ASSERT_GT(tile0 + kAttentionKeyTile, keys.first);
            for (int64_t k0 = tile0; k0 <= keys.last; k0 += kAttentionKeyTile)
              for (int64_t w = 0; w < kWarps; ++w) {
                const int64_t row0 = w * rows_per_warp;
                if (row0 >= used) continue;
                const int64_t row1 = std::min(row0 + rows_per_warp, used);
                if (!attention_keys_overlap(attention_rows_keys(t, row0, row1, shape.heads, window), k0,
                                            kAttentionKeyTile))
                  continue;
                for (int64_t r = row0; r < row1; ++r)
                  for (int64_t lane = 0; lane < kAttentionKeyTile; ++lane) {
                    const int64_t key = k0 + lane, qp = t.q_pos + attention_row_query(r, shape.heads);
                    if (!attention_visible(qp, key, t.k_pos, window)) continue;
                    EXPECT_TRUE(key >= keys.first && key <= keys.last) << "a visible key the block did not load";
                    ++scored[{t.q_row + attention_row_query(r, shape.heads), attention_row_head(r, shape.heads), key}];
                  }
              }
          }
          int64_t expected = 0;
          for (const Case& c : cases)
            for (int64_t i = 0; i < c.seq.q_len; ++i) {
              const int64_t qp = c.seq.q_pos + i;
              ASSERT_TRUE(brute_visible(qp, qp, c.seq.k_pos, window));
              for (int64_t key = c.seq.k_pos; key < c.seq.k_pos + c.k_len; ++key) {
                if (!brute_visible(qp, key, c.seq.k_pos, window)) continue;
                for (int64_t h = 0; h < shape.heads; ++h) {
                  ++expected;
                  const auto it = scored.find({c.seq.q_row + i, h, key});
                  ASSERT_NE(it, scored.end()) << "query row " << c.seq.q_row + i << " key " << key << " never scored";
                  EXPECT_EQ(it->second, 1);
                }
              }
            }
          EXPECT_EQ(static_cast<int64_t>(scored.size()), expected) << "a key scored that the query must not see";
        }
}

}  // namespace
}  // namespace maca::kernels::shared
