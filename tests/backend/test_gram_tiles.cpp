// The index logic of the CUDA gram_fixed_point (kernels/shared/gram_tiles.h)
// against the loops of the CPU oracle (kernels/cpu/gram_fixed_point.cpp),
// restated here: the same values are added to the same words, each word pair
// by one value; the strips cover each counted value exactly once within the
// scratch budget; and the strip algorithm, run on the host with exact
// (integer-valued) products, gives the oracle's words bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/shared/fixed_point.h"
#include "kernels/shared/gram_tiles.h"

namespace maca::gram_tiles {
namespace {

constexpr int64_t kOracleStrip = 4;  // kernels/cpu/gram_fixed_point.cpp's kStrip

// Calls visit(i, j, hi word offset) for every value the CPU oracle adds, in
// its loop order: strips of up to kOracleStrip tiles of a tile row, tiles
// tj >= ti when symmetric, j from i on in a diagonal tile.
template <class Visit>
void oracle_loops(int64_t n, bool symmetric, Visit visit) {
  const int64_t tiles = (n + kTile - 1) / kTile;
  for (int64_t ti = 0; ti < tiles; ++ti)
    for (int64_t tj0 = symmetric ? ti : 0; tj0 < tiles; tj0 += kOracleStrip) {
      const int64_t ntiles = std::min(kOracleStrip, tiles - tj0), i0 = ti * kTile;
      const int64_t ni = std::min(kTile, n - i0);
      for (int64_t k = 0; k < ntiles; ++k) {
        const int64_t tj = tj0 + k, cols = std::min(kTile, n - tj * kTile);
        const bool diag = symmetric && tj == ti;
        const int64_t hi = fixed_point::tile_offset(ti, tj, tiles, symmetric);
        for (int64_t i = 0; i < ni; ++i)
          for (int64_t j = diag ? i : 0; j < cols; ++j) visit(i0 + i, tj * kTile + j, hi + i * kTile + j);
      }
    }
}

int64_t word_count(int64_t n, bool symmetric) {
  return fixed_point::tile_count(tiles_of(n), symmetric) * fixed_point::kTileWords;
}

const int64_t kSizes[] = {1, 5, 127, 128, 129, 255, 256, 300, 513, 1100};

TEST(GramTiles, CountedValuesAndWordsMatchTheCpuLoops) {
  for (const int64_t n : kSizes)
    for (const bool symmetric : {false, true}) {
      const int64_t tiles = tiles_of(n), words = word_count(n, symmetric);
      // seen[w]: how many values the oracle adds to hi word w (lo is kTile² on).
      std::vector<int> seen(static_cast<size_t>(words), 0);
      int64_t visited = 0, bad = 0;
      oracle_loops(n, symmetric, [&](int64_t i, int64_t j, int64_t hi) {
        ++visited;
        if (!counted(i, j, symmetric) && bad++ < 5) ADD_FAILURE() << "n " << n << " (" << i << "," << j << ") not counted";
        if (word(i, j, tiles, symmetric) != hi && bad++ < 5)
          ADD_FAILURE() << "n " << n << " sym " << symmetric << " (" << i << "," << j << ") word "
                        << word(i, j, tiles, symmetric) << " oracle " << hi;
        ASSERT_GE(hi, 0);
        ASSERT_LT(hi + kTile * kTile, words);
        ++seen[static_cast<size_t>(hi)];
      });
      EXPECT_EQ(bad, 0);
      // Every counted (i, j) is one the oracle visits (it visits each once).
      int64_t counted_values = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) counted_values += counted(i, j, symmetric);
      EXPECT_EQ(counted_values, visited) << "n " << n << " sym " << symmetric;
      // No hi word is written twice, and no hi word is another value's lo word.
      for (int64_t w = 0; w < words; ++w) {
        const int s = seen[static_cast<size_t>(w)];
        const bool lo_half = (w % fixed_point::kTileWords) >= kTile * kTile;
        if ((s > 1 || (lo_half && s > 0)) && bad++ < 5) ADD_FAILURE() << "n " << n << " word " << w << " seen " << s;
      }
      EXPECT_EQ(bad, 0);
    }
}

TEST(GramTiles, StripsCoverEachCountedValueOnceWithinBudget) {
  const int64_t budgets[] = {1, 100'000, 1'000'000, int64_t{64} << 20};
  for (const int64_t n : kSizes)
    for (const bool symmetric : {false, true})
      for (const int64_t elem : {4, 8})
        for (const int64_t budget : budgets) {
          const int64_t tile_rows = strip_tile_rows(n, symmetric, elem, budget);
          ASSERT_GE(tile_rows, 1);
          ASSERT_LE(tile_rows, tiles_of(n));
          if (symmetric) {
            EXPECT_LE(tile_rows, (tiles_of(n) + kSymmetricStrips - 1) / kSymmetricStrips) << "n " << n;
          }
          const Strip largest = strip(0, tile_rows, n, symmetric);
          if (tile_rows > 1) {
            EXPECT_LE(largest.ni * largest.nj * elem, budget) << "n " << n;
          }
          std::vector<int> covered(static_cast<size_t>(n * n), 0);
          int64_t next_row = 0;
          for (int64_t k = 0; k < strip_count(n, tile_rows); ++k) {
            const Strip st = strip(k, tile_rows, n, symmetric);
            EXPECT_EQ(st.i0, next_row);  // rows in order, disjoint, none skipped
            EXPECT_GE(st.ni, 1);
            EXPECT_EQ(st.i0 % kTile, 0);
            EXPECT_LE(st.ni * st.nj, largest.ni * largest.nj);  // fits the buffer
            EXPECT_EQ(st.j0 + st.nj, n);
            next_row = st.i0 + st.ni;
            for (int64_t i = st.i0; i < st.i0 + st.ni; ++i)
              for (int64_t j = st.j0; j < n; ++j) covered[static_cast<size_t>(i * n + j)] += counted(i, j, symmetric);
          }
          EXPECT_EQ(next_row, n);
          int64_t bad = 0;
          for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < n; ++j) {
              const int want = counted(i, j, symmetric) ? 1 : 0;
              if (covered[static_cast<size_t>(i * n + j)] != want && bad++ < 5)
                ADD_FAILURE() << "n " << n << " sym " << symmetric << " budget " << budget << " (" << i << "," << j
                              << ") covered " << covered[static_cast<size_t>(i * n + j)];
            }
          EXPECT_EQ(bad, 0);
        }
}

// The CUDA op's steps on the host: per strip, prod [ni, nj] = a[:, i0:]ᵀ·b[:, j0:]
// (row-major, ld nj, as the GEMM call), then each counted value added at
// word(i, j). Integer-valued inputs make every product exact, so any
// summation order gives the same values and the words must equal the oracle's.
TEST(GramTiles, StripAlgorithmGivesTheOracleWordsOnExactInputs) {
  const int64_t rows = 6;
  for (const int64_t n : {int64_t{129}, int64_t{300}, int64_t{513}})
    for (const bool symmetric : {false, true}) {
      std::mt19937 rng(static_cast<uint32_t>(n) + symmetric);
      std::uniform_int_distribution<int> d(-8, 8);
      std::vector<double> a(static_cast<size_t>(rows * n)), b(a.size());
      for (double& v : a) v = d(rng);
      for (double& v : b) v = d(rng);
      if (symmetric) b = a;
      auto product = [&](int64_t i, int64_t j) {
        double s = 0;
        for (int64_t r = 0; r < rows; ++r) s += a[static_cast<size_t>(r * n + i)] * b[static_cast<size_t>(r * n + j)];
        return s;
      };
      const int64_t tiles = tiles_of(n), words = word_count(n, symmetric);
      std::vector<int64_t> want(static_cast<size_t>(words), 0);
      oracle_loops(n, symmetric, [&](int64_t i, int64_t j, int64_t hi) {
        ASSERT_TRUE(fixed_point::add(product(i, j), want[static_cast<size_t>(hi)],
                                     want[static_cast<size_t>(hi + kTile * kTile)]));
      });
      for (const int64_t budget : {int64_t{1}, int64_t{2 * kTile * 8 * 600}, int64_t{64} << 20}) {
        const int64_t tile_rows = strip_tile_rows(n, symmetric, 8, budget);
        const Strip largest = strip(0, tile_rows, n, symmetric);
        std::vector<double> prod(static_cast<size_t>(largest.ni * largest.nj));
        std::vector<int64_t> got(static_cast<size_t>(words), 0);
        for (int64_t k = 0; k < strip_count(n, tile_rows); ++k) {
          const Strip st = strip(k, tile_rows, n, symmetric);
          const double* as = a.data() + st.i0;
          const double* bs = b.data() + st.j0;
          for (int64_t i = 0; i < st.ni; ++i)
            for (int64_t j = 0; j < st.nj; ++j) {
              double s = 0;
              for (int64_t r = 0; r < rows; ++r) s += as[r * n + i] * bs[r * n + j];
              prod[static_cast<size_t>(i * st.nj + j)] = s;
            }
          for (int64_t r = 0; r < st.ni; ++r)
            for (int64_t c = 0; c < st.nj; ++c) {
              const int64_t i = st.i0 + r, j = st.j0 + c;
              if (!counted(i, j, symmetric)) continue;
              int64_t* hi = got.data() + word(i, j, tiles, symmetric);
              ASSERT_TRUE(fixed_point::add(prod[static_cast<size_t>(r * st.nj + c)], hi[0], hi[kTile * kTile]));
            }
        }
        EXPECT_TRUE(got == want) << "n " << n << " sym " << symmetric << " budget " << budget;
      }
    }
}

}  // namespace
}  // namespace maca::gram_tiles
