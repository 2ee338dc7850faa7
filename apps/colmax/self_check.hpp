// self_check.hpp — the demo's check of colmax's scores against the float64 reference.
#pragma once

#include <cstdint>

#include "colmax/colmax.hpp"
#include "corpus.hpp"
#include "device.hpp"
#include "retrieval.hpp"

namespace colmax::cli {

// The demo's tensors, on the host (for the reference) and on the scoring device.
struct DemoViews {
  TensorView q_host, cu_q_host, d_host, cu_d_host;  // packed queries / documents + offsets
  TensorView q, cu_q, d, cu_d;                      // the same on the arena's device
};

struct SelfCheck {
  int64_t scores = 0;        // scores compared with the reference
  double max_abs_error = 0;  // max |colmax - reference|
  double max_rel_error = 0;  // max |colmax - reference| / max(1, |reference|)
  int64_t outranked = 0;     // sampled documents the reference puts above the k-th hit
  bool nan = false;          // a NaN anywhere (the data has none)
  double tolerance = 1e-3;   // on the relative error
  bool passed() const { return !nan && outranked == 0 && max_rel_error <= tolerance; }
};

// For the first `queries` queries: the retrieved hits (the scores top-k returned) and
// `extra` more documents per query (half at random, half from the topic of the document the
// query was planted from, which score close to the hits), each also scored by colmax on the
// arena's device with maxsim_packed_pairs, all compared with Backend::reference.
SelfCheck self_check(Arena& arena, const DemoViews& v, const Corpus& corpus,
                     const QuerySet& queries, const TopKMerger& results, int64_t check_queries,
                     int64_t extra, const Options& options, uint64_t seed);

}  // namespace colmax::cli
