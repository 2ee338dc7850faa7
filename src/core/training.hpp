// The internal description of a forward-with-winners or backward call (colmax/backward.hpp):
// the validated Problem plus the saved winners and the gradient outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "colmax/backward.hpp"
#include "core/problem.hpp"

namespace colmax::detail {

// Saved winners: row-major [num_outputs, width] of int16 or int32; entry (o, t) is the
// position of query token t's winner in the document of output o, or -1 (no winner).
struct Winners {
  void* data = nullptr;  // nullptr: absent (the backward recomputes them)
  DType dtype = DType::int32;
  int64_t width = 0;

  bool present() const noexcept { return data != nullptr; }
  // Host access (CPU memory only).
  int64_t get(int64_t o, int64_t t) const noexcept {
    const int64_t i = o * width + t;
    return dtype == DType::int16 ? int64_t(static_cast<const int16_t*>(data)[i])
                                 : int64_t(static_cast<const int32_t*>(data)[i]);
  }
  void set(int64_t o, int64_t t, int64_t v) const noexcept {
    const int64_t i = o * width + t;
    if (dtype == DType::int16) {
      static_cast<int16_t*>(data)[i] = int16_t(v);
    } else {
      static_cast<int32_t*>(data)[i] = int32_t(v);
    }
  }
};

// One gradient output, addressed exactly like its input: `seqs` is a copy of the input's
// SeqSet with this tensor's data pointer and strides (and no mask).
struct GradOut {
  std::byte* data = nullptr;  // nullptr: not requested
  SeqSet seqs;
  // Every row of the tensor, for zero-filling rows that belong to no sequence: padded
  // tensors are covered by their sequences; packed ones have `total_tokens` rows.
  bool present() const noexcept { return data != nullptr; }
  std::byte* token(int64_t i, int64_t j) const noexcept {
    return data + (seqs.seq_begin(i) + j * seqs.token_stride) * dtype_size(seqs.dtype);
  }
  std::byte* row(int64_t r) const noexcept {  // packed: row r of [T, dim]
    return data + r * seqs.token_stride * dtype_size(seqs.dtype);
  }
};

// A forward-with-winners call (grads absent; p.out = scores) or a backward call
// (p.out = grad_out, read only).
struct Training {
  Problem p;
  Winners winners;
  GradOut grad_q, grad_d;
  BackwardStrategy strategy = BackwardStrategy::automatic;
};

// Longest query / document sequence (host offsets or padded lengths).
int64_t max_query_length(const Problem& p);
int64_t max_document_length(const Problem& p);

// Which outputs touch query i and document j, in increasing output order (the fixed order
// in which deterministic backends sum contributions). For pair lists the inverse maps are
// built once (a stable counting sort of the pair indices).
class PairIndex {
 public:
  explicit PairIndex(const Problem& p);
  template <class F>
  void for_query(int64_t qi, F&& f) const {
    switch (p_.pairing) {
      case Pairing::cross:
        for (int64_t d = 0; d < p_.out_cols; ++d) f(qi * p_.out_cols + d);
        return;
      case Pairing::grouped:
        for (int64_t k = 0; k < p_.out_cols; ++k) f(qi * p_.out_cols + k);
        return;
      case Pairing::diagonal:
        f(qi);
        return;
      case Pairing::list:
        for (int64_t i = q_begin_[size_t(qi)]; i < q_begin_[size_t(qi) + 1]; ++i) {
          f(q_order_[size_t(i)]);
        }
        return;
    }
  }
  template <class F>
  void for_document(int64_t di, F&& f) const {
    switch (p_.pairing) {
      case Pairing::cross:
        for (int64_t q = 0; q < p_.out_rows; ++q) f(q * p_.out_cols + di);
        return;
      case Pairing::grouped:
      case Pairing::diagonal:
        f(di);
        return;
      case Pairing::list:
        for (int64_t i = d_begin_[size_t(di)]; i < d_begin_[size_t(di) + 1]; ++i) {
          f(d_order_[size_t(i)]);
        }
        return;
    }
  }

 private:
  const Problem& p_;
  std::vector<int64_t> q_begin_, q_order_, d_begin_, d_order_;
};

// Checks saved winners on the host before any output is written: every entry is -1 or the
// position of a valid token of its document, and entries beyond a query's length (or at a
// masked query token) are -1. Throws colmax::Error naming `fn` and the entry.
void check_winners(const Training& tr, const char* fn);

}  // namespace colmax::detail
