// Arrays from Python as colmax views, and the per-call options as the Python layer passes
// them.
//
// Any DLPack producer (NumPy, CuPy, JAX, ...) is read through nanobind's ndarray. PyTorch
// tensors take a faster road: their data pointer, dtype, sizes, strides and device are read
// as attributes, which costs a fraction of exporting a DLPack capsule (the per-call overhead
// that matters for small calls). Neither copies.
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>
#include <vector>

#include "colmax/options.hpp"
#include "colmax/tensor.hpp"

namespace colmax::python {

namespace nb = nanobind;

// The views of one call. Keeps the DLPack imports alive until the call returns.
class Views {
 public:
  // None becomes an absent view. Inputs may be read-only arrays; outputs must be writable.
  TensorView in(nb::handle array, const char* name);
  TensorView out(nb::handle array, const char* name);

 private:
  std::vector<nb::ndarray<nb::ro>> inputs_;
  std::vector<nb::ndarray<>> outputs_;
};

// Remembers torch.Tensor and the torch dtypes colmax reads (called once by colmax._torch_ops),
// so tensors skip DLPack. Until called, tensors go through DLPack like any other array.
void register_torch(nb::handle tensor_type, nb::list dtypes);

// The options, in the order every binding takes them after its arrays.
Options make_options(int mask_mode, bool normalize, int fp32_precision, int backend,
                     int num_threads, std::uintptr_t stream);

}  // namespace colmax::python
