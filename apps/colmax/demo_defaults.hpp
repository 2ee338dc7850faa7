// demo_defaults.hpp — the sizes `colmax demo` runs with when none are given. The one place
// to retune them: `colmax demo` with no arguments must finish well under a minute on a
// 2-core machine, and a GPU run should be big enough to show the kernels' throughput.
#pragma once

#include <cstdint>

namespace colmax::cli {

struct DemoSize {
  int64_t docs;
  int64_t queries;
};

// CPU: 20,000 documents x 32 queries is ~870 GFLOP of MaxSim, a few seconds for the SIMD
// engine on two cores.
inline constexpr DemoSize kDemoCpu{20000, 32};
// CUDA: a larger corpus and more queries.
inline constexpr DemoSize kDemoCuda{100000, 64};

inline constexpr int64_t kDemoQueryLength = 32;
inline constexpr int64_t kDemoMinDocLength = 32;
inline constexpr int64_t kDemoMaxDocLength = 300;
inline constexpr int64_t kDemoDim = 128;
inline constexpr int64_t kDemoK = 10;
inline constexpr uint64_t kDemoSeed = 42;

// The naive baseline is timed on this many documents (and at most 4 queries), then
// extrapolated by the count of token pairs.
inline constexpr int64_t kDemoNaiveDocs = 256;
// The reference check: the hits of this many queries plus this many more documents each.
inline constexpr int64_t kDemoCheckQueries = 4;
inline constexpr int64_t kDemoCheckExtra = 24;

}  // namespace colmax::cli
