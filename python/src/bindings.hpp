// The parts of the colmax._C module, one function per source file.
#pragma once

#include <nanobind/nanobind.h>

namespace colmax::python {

void bind_forward(nanobind::module_& m);        // bind_maxsim.cpp
void bind_runtime(nanobind::module_& m);        // bind_runtime.cpp
void bind_backward(nanobind::module_& m);       // bind_backward.cpp (training, when built)
void bind_device_buffer(nanobind::module_& m);  // bind_device_buffer.cpp

}  // namespace colmax::python
