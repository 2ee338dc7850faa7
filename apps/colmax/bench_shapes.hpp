// bench_shapes.hpp — the benchmark shapes `colmax bench` knows by name, and one prepared case.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "colmax/colmax.hpp"
#include "device.hpp"

namespace colmax::cli {

enum class BenchLayout {
  cross,       // Q [Nq, Lq, dim] x D [Nd, Ld, dim]
  candidates,  // Q [Nq, Lq, dim] x D [Nq, K, Ld, dim]  (nd is K)
  pairs,       // Q [B, Lq, dim] x D [B, Ld, dim]        (nq is B)
  packed,      // variable lengths: Q [Tq, dim] + offsets x D [Td, dim] + offsets
};
const char* layout_name(BenchLayout layout);

struct BenchShape {
  std::string name;
  BenchLayout layout = BenchLayout::cross;
  int64_t nq = 1, nd = 1;
  int64_t lq_min = 32, lq_max = 32;  // packed: lengths drawn uniformly in [min, max]
  int64_t ld_min = 300, ld_max = 300;
  int64_t dim = 128;
  bool gpu = false;  // part of the GPU list (run on the CPU only when named)
  std::string about;
};

// The CPU shapes of the engine's targets, then the GPU shapes.
const std::vector<BenchShape>& named_shapes();
// nullptr when unknown.
const BenchShape* find_shape(const std::string& name);
// "300" or "32..512".
std::string lengths_text(int64_t lo, int64_t hi);

// Random unit-length inputs for one shape, on the arena's device, ready to time.
class BenchCase {
 public:
  BenchCase(const BenchShape& shape, DType dtype, Arena& arena, uint64_t seed, int threads);
  BenchCase(const BenchCase&) = delete;  // the views point into the host buffers
  BenchCase& operator=(const BenchCase&) = delete;
  void run(const Options& options);        // one colmax call (asynchronous on a GPU)
  double flops() const { return flops_; }  // 2 * dim * token pairs
  double bytes() const { return bytes_; }  // Q + D + scores

 private:
  BenchShape shape_;
  std::vector<std::byte> q_host_, d_host_;
  std::vector<int64_t> cu_q_, cu_d_;
  TensorView q_, d_, cu_q_view_, cu_d_view_, out_;
  double flops_ = 0, bytes_ = 0;
};

}  // namespace colmax::cli
