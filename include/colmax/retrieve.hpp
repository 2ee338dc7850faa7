// colmax/retrieve.hpp — top-k documents per query, without materialising all scores.
#pragma once

#include <cstdint>

#include "colmax/options.hpp"
#include "colmax/tensor.hpp"

namespace colmax {

// The number of results retrieve() returns per query: min(k, number of documents).
// Throws colmax::Error when k < 0.
int64_t retrieve_count(int64_t k, int64_t num_documents);

// Top-k documents for each query, best first. Ties go to the lower document index; a NaN
// score ranks above every number (as torch.topk does), so a NaN is never silently dropped.
// Memory stays bounded: documents are scored in chunks and merged into running top-k lists.
//
//   Q [Nq, Lq, dim] x D [Nd, Ld, dim], k -> scores [Nq, n] float32, indices [Nq, n] int64,
//   where n = retrieve_count(k, Nd).
void retrieve(const TensorView& Q, const TensorView& D, int64_t k, const TensorView& scores,
              const TensorView& indices, const Masks& masks = {}, const Options& options = {});

// The same over a packed corpus: D tokens [Td, dim] with cu_seqlens_d [Nd + 1].
void retrieve_packed(const TensorView& Q, const TensorView& D, const TensorView& cu_seqlens_d,
                     int64_t k, const TensorView& scores, const TensorView& indices,
                     const Masks& masks = {}, const Options& options = {});

}  // namespace colmax
