// The launch configuration of the tile kernels: a deterministic table keyed on
// (architecture, dim class, query-row bucket, layout), generated offline by
// scripts/tune_dispatch.py into dispatch_table.inc. Nothing is timed at run time.
#pragma once

#include <cstdint>

#include "cuda/common/problem_view.hpp"

namespace colmax::cuda {

struct DispatchKey {
  int arch = 90;       // 80, 86, 89 or 90 (newer chips use 90)
  int dim_class = 1;   // 0: dim <= 64, 1: <= 128, 2: <= 256, 3: larger
  int rows_class = 0;  // 0: <= 32, 1: <= 64, 2: <= 128, 3: <= 512, 4: larger
  int layout = 0;      // PairingKind
};

struct DispatchEntry {
  int arch, dim_class, rows_class, layout;
  int shape, stages, qslots;
};

int arch_class(int compute_capability);
int dim_class(int64_t dim);
int rows_class(int64_t rows);

// The table's entry for a key (every key has one).
DispatchEntry dispatch_lookup(const DispatchKey& key);

// The query rows that can share one document tile: every query's rows for the cross
// product (all queries meet every document), one query's rows otherwise.
int64_t shared_query_rows(const ProblemView& v);

}  // namespace colmax::cuda
