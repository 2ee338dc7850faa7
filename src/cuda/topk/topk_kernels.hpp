// Device side of retrieve: running top-k lists per query, merged one chunk of scores at a
// time. A list entry is a 64-bit key (rank of the score in the high half, document index in
// the low half) whose ascending order is colmax's ranking: NaN first, then higher scores,
// equal scores by lower index.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace colmax::cuda {

inline constexpr int kTopkSortChunk = 2048;  // scores sorted at once in shared memory

// Merges scores[q * row_stride + j] (j < count, documents doc_base + j) into the list of
// every query q < nq. lists holds two buffers of [nq][k] keys; buffer `parity` holds the
// current `have` entries per query; the result lands in buffer parity ^ (number of sort
// chunks & 1).
void launch_topk_merge(const float* scores, int64_t row_stride, int64_t count, int64_t doc_base,
                       uint64_t* lists, int64_t nq, int64_t k, int64_t have, int parity,
                       cudaStream_t stream);

// Writes the first k keys of buffer `parity` as scores / indices of queries q0 .. q0+nq-1.
void launch_topk_write(const uint64_t* lists, int64_t nq, int64_t k, int parity, float* scores,
                       int64_t s0, int64_t s1, int64_t* indices, int64_t i0, int64_t i1, int64_t q0,
                       cudaStream_t stream);

}  // namespace colmax::cuda
