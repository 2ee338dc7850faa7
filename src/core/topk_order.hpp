// The one ordering every top-k in colmax uses, so that backends agree exactly.
#pragma once

#include <cmath>
#include <cstdint>

namespace colmax::detail {

// Does (score a, index ia) rank before (score b, index ib)? Higher scores first, NaN above
// every number, ties to the lower index.
inline bool ranks_before(float a, int64_t ia, float b, int64_t ib) noexcept {
  const bool na = std::isnan(a), nb = std::isnan(b);
  if (na != nb) return na;
  if (!na && a != b) return a > b;
  return ia < ib;
}

}  // namespace colmax::detail
