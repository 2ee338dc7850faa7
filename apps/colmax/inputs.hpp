// inputs.hpp — .npy arrays as colmax tensors: embeddings (fp32, fp16, bf16) and masks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "colmax/colmax.hpp"
#include "npy.hpp"

namespace colmax::cli {

// An input file that does not hold what the command expects (rank, dtype, shape).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Row-major host memory with a colmax dtype.
struct HostTensor {
  std::vector<std::byte> data;
  DType dtype = DType::float32;
  std::vector<int64_t> shape;

  TensorView view() const;
};

// Embeddings from a .npy array. `what` names the argument and file ("--queries q.npy");
// `ranks` lists the accepted ranks and `layout` describes them ("[Nq, Lq, dim]").
// float32 and float16 are used as they are; uint16 (or NumPy's '|V2') holds bfloat16 bits
// when `bf16` is set; float64 is converted to float32 with a note on `notes`.
HostTensor embeddings_from_npy(NpyArray array, const std::string& what,
                               std::initializer_list<int> ranks, const std::string& layout,
                               bool bf16, std::ostream& notes);

// A 0/1 mask (any non-zero value is valid) from a bool, integer or float .npy array, which
// must have exactly `expected` as its shape (`matching` says where that shape comes from).
HostTensor mask_from_npy(const NpyArray& array, const std::string& what,
                         std::span<const int64_t> expected, const std::string& matching);

}  // namespace colmax::cli
