// Benchmark inputs: L2-normalised Gaussian token embeddings (as ColBERT-style models emit),
// padded [N, L, dim] or packed [T, dim] with per-document lengths, in fp32, fp16 or bf16.
// Built once per shape and kept for the whole run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "colmax/colmax.hpp"

namespace colmax::bench {

// Page-aligned storage that asks Linux for transparent huge pages, as NumPy does for every
// array over 4 MiB: the engines compared in bench/cpu_compare.py then read memory the same way.
class HugePageBytes {
 public:
  void assign(size_t n);
  std::byte* data() noexcept { return ptr_.get(); }
  const std::byte* data() const noexcept { return ptr_.get(); }
  size_t size() const noexcept { return size_; }

 private:
  struct Free {
    void operator()(std::byte* p) const noexcept;
  };
  std::unique_ptr<std::byte, Free> ptr_;
  size_t size_ = 0;
};

struct Tokens {
  HugePageBytes bytes;
  DType dtype = DType::float32;
  int64_t count = 0;   // sequences
  int64_t length = 0;  // padded length (0 when packed)
  int64_t dim = 0;
  std::vector<int64_t> cu_seqlens;  // packed: count + 1 offsets
  int64_t total_tokens = 0;

  TensorView padded() const;                              // [count, length, dim]
  TensorView packed() const;                              // [total_tokens, dim]
  TensorView cu() const;                                  // [count + 1] int64
  double token_pairs_per_query(int64_t query_len) const;  // Σ over documents of Lq · Ld
};

// Padded sequences, all of one length. `seed` selects the data.
const Tokens& padded_tokens(DType dtype, int64_t count, int64_t length, int64_t dim, uint64_t seed);
// Packed sequences with lengths uniform in [min_len, max_len].
const Tokens& packed_tokens(DType dtype, int64_t count, int64_t min_len, int64_t max_len,
                            int64_t dim, uint64_t seed);

}  // namespace colmax::bench
