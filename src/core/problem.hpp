// The one internal description of a MaxSim call that every backend consumes.
//
// The public layouts (cross, per-query candidates, pairs, packed, pair list, top-k) differ
// only in how sequences are addressed and which (query, document) pairs are scored. After
// validation they all become a Problem: two SeqSets (queries, documents) plus a Pairing. A
// backend that serves a Problem therefore serves every layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "colmax/options.hpp"
#include "colmax/tensor.hpp"

namespace colmax::detail {

// A family of token sequences of one dtype and dim. Offsets and strides are in elements.
//
// Padded sequences (cu == nullptr): sequence i lives at
//   (i / inner) * outer_stride + (i % inner) * inner_stride
// and has `length` tokens (inner > 1 only for [Nq, K, Ld, dim] documents).
// Packed sequences (cu != nullptr): sequence i holds tokens [cu[i], cu[i+1]) of a [T, dim]
// tensor, token j at j * token_stride.
struct SeqSet {
  const std::byte* data = nullptr;
  DType dtype = DType::float32;
  int64_t dim = 0;
  int64_t count = 0;         // number of sequences
  int64_t token_stride = 0;  // elements between consecutive tokens
  // padded addressing
  int64_t length = 0;
  int64_t inner = 1;
  int64_t outer_stride = 0;
  int64_t inner_stride = 0;
  // packed addressing; cu has count + 1 entries. On the CPU these are validated int64 copies
  // owned by the Problem; on CUDA they point to device memory of type cu_dtype.
  const void* cu = nullptr;
  DType cu_dtype = DType::int64;
  int64_t total_tokens = 0;  // packed: rows of the token tensor
  // optional mask, addressed like the tokens but with its own strides (elements)
  const std::byte* mask = nullptr;
  DType mask_dtype = DType::boolean;
  int64_t mask_token_stride = 0;
  int64_t mask_outer_stride = 0;
  int64_t mask_inner_stride = 0;

  bool packed() const noexcept { return cu != nullptr; }

  // Host-side helpers (valid when cu is a host int64 array).
  int64_t seq_begin(int64_t i) const noexcept {
    if (packed()) return static_cast<const int64_t*>(cu)[i] * token_stride;
    return (i / inner) * outer_stride + (i % inner) * inner_stride;
  }
  int64_t seq_length(int64_t i) const noexcept {
    if (!packed()) return length;
    auto* c = static_cast<const int64_t*>(cu);
    return c[i + 1] - c[i];
  }
  int64_t mask_begin(int64_t i) const noexcept {
    if (packed()) return static_cast<const int64_t*>(cu)[i] * mask_token_stride;
    return (i / inner) * mask_outer_stride + (i % inner) * mask_inner_stride;
  }
  // Element pointer of token j of sequence i.
  const std::byte* token(int64_t i, int64_t j) const noexcept {
    return data + (seq_begin(i) + j * token_stride) * dtype_size(dtype);
  }
  // Is token j of sequence i valid? (no mask: always)
  bool valid(int64_t i, int64_t j) const noexcept;
};

// Which (query, document) pairs are scored and where each score goes.
enum class Pairing : uint8_t {
  cross,     // every query with every document: out[q, d]
  grouped,   // query q with documents q*group .. q*group+group-1: out[q, k]
  diagonal,  // query i with document i: out[i]
  list,      // query pair_q[p] with document pair_d[p]: out[p]
};

struct Problem {
  SeqSet q, d;
  Pairing pairing = Pairing::cross;
  int64_t group = 0;  // grouped: documents per query (K)
  // list: indices (validated; on the CPU, int64 host copies owned below)
  const void* pair_q = nullptr;
  const void* pair_d = nullptr;
  DType pair_dtype = DType::int64;
  int64_t num_pairs = 0;
  // out: float32, element strides. cross/grouped: [rows, cols]; diagonal/list: [rows].
  float* out = nullptr;
  int64_t out_rows = 0, out_cols = 1;
  int64_t out_stride0 = 0, out_stride1 = 0;
  Options options;
  Device device;

  // Storage for host copies made during validation (cu_seqlens, pair indices).
  std::vector<int64_t> q_cu_storage, d_cu_storage, pair_q_storage, pair_d_storage;

  Problem() = default;
  Problem(const Problem&) = delete;  // SeqSet pointers may point into the storage above
  Problem& operator=(const Problem&) = delete;
  Problem(Problem&&) = delete;

  // The (query, document) pair behind output position `p` (row-major over out).
  int64_t num_outputs() const noexcept { return out_rows * out_cols; }
  void pair_at(int64_t p, int64_t& qi, int64_t& di) const noexcept {
    switch (pairing) {
      case Pairing::cross:
        qi = p / out_cols;
        di = p % out_cols;
        return;
      case Pairing::grouped:
        qi = p / out_cols;
        di = p;
        return;
      case Pairing::diagonal:
        qi = p;
        di = p;
        return;
      case Pairing::list:
        qi = static_cast<const int64_t*>(pair_q)[p];
        di = static_cast<const int64_t*>(pair_d)[p];
        return;
    }
  }
  float* out_at(int64_t p) const noexcept {
    return out + (p / out_cols) * out_stride0 + (p % out_cols) * out_stride1;
  }
};

// Reads mask element `offset` (elements) of a mask of `dtype` as valid / not valid.
bool mask_value(const std::byte* mask, DType dtype, int64_t offset) noexcept;

inline bool SeqSet::valid(int64_t i, int64_t j) const noexcept {
  if (mask == nullptr) return true;
  return mask_value(mask, mask_dtype, mask_begin(i) + j * mask_token_stride);
}

// A top-k request over a cross or packed-cross Problem.
struct TopK {
  int64_t k = 0;  // already clamped to the number of documents
  float* scores = nullptr;
  int64_t* indices = nullptr;
  int64_t scores_stride0 = 0, scores_stride1 = 0;
  int64_t indices_stride0 = 0, indices_stride1 = 0;
};

}  // namespace colmax::detail
