// Arrays from Python (any DLPack producer: NumPy, PyTorch, CuPy, JAX) as colmax views, and
// the per-call options as the Python layer passes them.
#pragma once

#include <nanobind/ndarray.h>

#include <cstdint>

#include "colmax/options.hpp"
#include "colmax/tensor.hpp"

namespace colmax::python {

namespace nb = nanobind;

// Inputs are read-only views (read-only NumPy arrays are accepted); outputs are writable.
using InArray = nb::ndarray<nb::ro>;
using OutArray = nb::ndarray<>;

// An absent array (Python None) becomes an absent view. Never copies.
TensorView view_of(const InArray& array, const char* name);
TensorView view_of(const OutArray& array, const char* name);

// The options, in the order every binding takes them after its arrays.
Options make_options(int mask_mode, bool normalize, int fp32_precision, int backend,
                     int num_threads, std::uintptr_t stream);

}  // namespace colmax::python
