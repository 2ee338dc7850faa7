// Packing a group of queries into the kernels' lane layout (see kernel_api.hpp).
//
// Each valid query token becomes one lane; masked tokens are dropped here and never read
// again. The queries of a group sit back to back in the lanes (query i owns lanes
// [lane_begin[i], lane_begin[i + 1])), so short queries do not waste a vector each.
// Normalisation is not applied to the packed values: max and sum commute with a positive
// per-lane scale, so the engine multiplies each lane's running max by inv_norm at the end and
// the panels keep the exact input values (bf16 stays bf16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/problem.hpp"
#include "cpu/aligned_buffer.hpp"
#include "cpu/kernel_api.hpp"

namespace colmax::detail::cpu {

struct QueryGroup {
  int64_t first = 0, count = 0;     // queries [first, first + count) of the SeqSet
  std::vector<int64_t> lane_begin;  // count + 1 entries, lane_begin[0] = 0
  std::vector<float> inv_norm;      // per lane when normalising, else empty
  AlignedBuffer<std::byte> storage;
  PanelsView panels;

  int64_t lanes() const noexcept { return lane_begin.empty() ? 0 : lane_begin.back(); }
};

// Valid (unmasked) tokens of sequence i.
int64_t valid_tokens(const SeqSet& s, int64_t i);

// Packs queries [first, first + count) of q for kernels `ks` into g (reusing its storage).
void pack_queries(const SeqSet& q, int64_t first, int64_t count, bool normalize,
                  const KernelSet& ks, QueryGroup& g);

// Element offset, in the panel storage, of embedding element k of lane `lane` for a group of
// `vectors` lane vectors: exposed for the tests of the layout.
int64_t panel_offset(const KernelSet& ks, int64_t ksteps, int64_t vectors, int64_t lane, int64_t k);

}  // namespace colmax::detail::cpu
