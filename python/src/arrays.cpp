// DLPack fields of a nanobind ndarray -> TensorView, and integer codes -> Options.
#include "arrays.hpp"

#include <string>

#include "colmax/error.hpp"

namespace colmax::python {

namespace {

template <class Array>
TensorView view_from(const Array& array, const char* name) {
  if (!array.is_valid()) return {};
  TensorView::DLPackFields fields{array.data_handle(),
                                  array.device_type(),
                                  array.device_id(),
                                  int(array.ndim()),
                                  uint8_t(array.dtype().code),
                                  uint8_t(array.dtype().bits),
                                  uint16_t(array.dtype().lanes),
                                  array.shape_ptr(),
                                  array.stride_ptr(),
                                  array.byte_offset()};
  return TensorView::from_dlpack_fields(fields, name);
}

template <class Enum>
Enum enum_from(int code, int count, const char* what) {
  if (code < 0 || code >= count) {
    throw Error(ErrorKind::value,
                std::string("colmax: invalid ") + what + " code " + std::to_string(code));
  }
  return Enum(code);
}

}  // namespace

TensorView view_of(const InArray& array, const char* name) { return view_from(array, name); }
TensorView view_of(const OutArray& array, const char* name) { return view_from(array, name); }

Options make_options(int mask_mode, bool normalize, int fp32_precision, int backend,
                     int num_threads, std::uintptr_t stream) {
  Options options;
  options.mask_mode = enum_from<MaskMode>(mask_mode, 2, "mask mode");
  options.normalize = normalize;
  options.fp32_precision = enum_from<Fp32Precision>(fp32_precision, 2, "fp32 precision");
  options.backend = enum_from<Backend>(backend, 4, "backend");
  options.num_threads = num_threads;
  options.stream = reinterpret_cast<void*>(stream);
  return options;
}

}  // namespace colmax::python
