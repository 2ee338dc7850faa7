// colmax._C: the native half of the Python package. The Python layer (python/colmax)
// allocates outputs in the caller's framework and calls these functions; they never copy.
#include <nanobind/nanobind.h>

#include "bindings.hpp"
#include "colmax/error.hpp"

namespace nb = nanobind;

NB_MODULE(_C, m) {
  m.doc() = "colmax native bindings (use the colmax package, not this module)";

  // colmax::Error -> TypeError for dtype mistakes, RuntimeError for failures below colmax,
  // ValueError for everything else, carrying the C++ message (it names the argument).
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const colmax::Error& e) {
      PyObject* type = PyExc_ValueError;
      if (e.kind() == colmax::ErrorKind::dtype) type = PyExc_TypeError;
      // A failure below colmax (CUDA launch error, out of memory) is not the caller's input.
      if (e.kind() == colmax::ErrorKind::runtime) type = PyExc_RuntimeError;
      PyErr_SetString(type, e.what());
    }
  });

  colmax::python::bind_forward(m);
  colmax::python::bind_runtime(m);
  colmax::python::bind_device_buffer(m);
  colmax::python::bind_backward(m);
}
