// SplitMix: splitmix64 as a counter-based random stream, the same numbers on
// every platform and compiler (no library distributions), with the few
// distributions maca draws from. Seeded from a key such as (seed, index), a
// stream follows its item to any rank or batch.
#pragma once

#include <cmath>
#include <cstdint>

namespace maca {

struct SplitMix {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }  // (0, 1)
  double normal() {                                                                   // Box–Muller
    const double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  // Gamma(shape, 1) by Marsaglia–Tsang (shape >= 1; smaller shapes via the U^(1/shape) boost).
  double gamma(double shape) {
    if (shape < 1) return gamma(shape + 1) * std::pow(uniform(), 1.0 / shape);
    const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x, v;
      do {
        x = normal();
        v = 1.0 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const double u = uniform();
      if (std::log(u) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
    }
  }
};

// A stream keyed by two integers (seed and an item's index), mixed so that
// neighbouring keys give unrelated streams.
inline SplitMix keyed_stream(uint64_t seed, uint64_t index) {
  SplitMix rng{seed * 0x9E3779B97F4A7C15ull ^ (index + 0x632BE59BD9B4E019ull)};
  rng.next();
  return rng;
}

}  // namespace maca
