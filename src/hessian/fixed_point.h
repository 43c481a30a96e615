// Exact, order-independent sums of doubles as fixed-point integers.
//
// A value v with |v| <= kMaxAbs is taken as s = v·2^40 (exact) and
// split, by truncation toward zero, into two integers s ≈ hi·2^32 + lo with
// |lo| < 2^32. Each is added to its own int64 word. The conversion is a pure
// function of v (error below 2^-40), and integer addition is exact and
// associative, so the words of a sum do not depend on the order of the terms
// nor on how the terms were split over threads or ranks (an all-reduce of the
// words is an integer sum). Only SSE2 operations (cvttsd2si, multiplies,
// subtractions), so it is the same on every x86-64 and ARM machine.
//
// Range: |hi| <= 2^(36+40-32) = 2^44 per term, so 2^19 terms per word fit in
// int64 with room to spare; |lo| < 2^32 per term, 2^31 terms.
#pragma once

#include <cmath>
#include <cstdint>

namespace maca::hessian::fixed_point {

constexpr double kMaxAbs = 0x1p36;      // largest |v| one term may have
constexpr int64_t kMaxTerms = int64_t{1} << 19;  // terms one word may receive

// Adds v to (hi, lo); false (nothing added) when v is not finite or |v| > kMaxAbs.
inline bool add(double v, int64_t& hi, int64_t& lo) {
  if (!(std::fabs(v) <= kMaxAbs)) return false;
  const double s = v * 0x1p40;
  const auto h = static_cast<int64_t>(s * 0x1p-32);
  hi += h;
  lo += static_cast<int64_t>(s - static_cast<double>(h) * 0x1p32);
  return true;
}

// The value a pair of words holds (rounded once to double).
inline double value(int64_t hi, int64_t lo) {
  return (static_cast<double>(hi) * 0x1p32 + static_cast<double>(lo)) * 0x1p-40;
}

}  // namespace maca::hessian::fixed_point
