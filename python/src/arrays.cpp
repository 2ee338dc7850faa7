// Python objects -> TensorView (torch attributes or DLPack), integer codes -> Options.
#include "arrays.hpp"

#include <array>
#include <string>
#include <utility>

#include <nanobind/stl/string.h>

#include "colmax/error.hpp"

namespace colmax::python {

namespace {

// An array without elements has no meaningful strides (DLPack producers report anything,
// NumPy reports 0): read it as row-major so the layout checks do not reject it.
bool has_no_elements(const int64_t* shape, size_t rank) {
  for (size_t i = 0; i < rank; ++i) {
    if (shape[i] == 0) return true;
  }
  return false;
}

template <class Array>
TensorView view_from_dlpack(const Array& array, const char* name) {
  const int64_t* strides =
      has_no_elements(array.shape_ptr(), array.ndim()) ? nullptr : array.stride_ptr();
  TensorView::DLPackFields fields{array.data_handle(),
                                  array.device_type(),
                                  array.device_id(),
                                  int(array.ndim()),
                                  uint8_t(array.dtype().code),
                                  uint8_t(array.dtype().bits),
                                  uint16_t(array.dtype().lanes),
                                  array.shape_ptr(),
                                  strides,
                                  array.byte_offset()};
  return TensorView::from_dlpack_fields(fields, name);
}

// str(object), for messages.
std::string text_of(nb::handle object) {
  nb::object text = nb::steal(PyObject_Str(object.ptr()));
  if (!text.is_valid()) {
    PyErr_Clear();
    return "?";
  }
  return nb::cast<std::string>(text);
}

template <class Array>
Array import_dlpack(nb::handle object, const char* name, const char* what) {
  Array array;
  if (!nb::try_cast(object, array, /*convert=*/false)) {
    throw Error(ErrorKind::dtype, std::string(name) + ": expected " + what +
                                      " (NumPy, PyTorch, CuPy, JAX), got " +
                                      text_of(reinterpret_cast<PyObject*>(Py_TYPE(object.ptr()))));
  }
  return array;
}

// torch.Tensor and its dtypes, registered by colmax._torch_ops.
struct TorchTypes {
  PyTypeObject* tensor = nullptr;
  std::vector<std::pair<PyObject*, DType>> dtypes;
};
TorchTypes torch_types;

bool is_torch_tensor(nb::handle object) {
  return torch_types.tensor != nullptr &&
         PyType_IsSubtype(Py_TYPE(object.ptr()), torch_types.tensor);
}

TensorView view_from_torch(nb::handle t, const char* name) {
  nb::object dtype = t.attr("dtype");
  const DType* found = nullptr;
  for (const auto& [object, code] : torch_types.dtypes) {
    if (object == dtype.ptr()) found = &code;
  }
  if (found == nullptr) {
    throw Error(ErrorKind::dtype, std::string(name) + ": unsupported dtype " + text_of(dtype));
  }
  Device device;
  if (nb::cast<bool>(t.attr("is_cuda"))) {
    device = {DeviceKind::cuda, nb::cast<int>(t.attr("get_device")())};
  } else if (!nb::cast<bool>(t.attr("is_cpu"))) {
    throw Error(ErrorKind::device, std::string(name) + ": expected a CPU or CUDA tensor, got " +
                                       text_of(t.attr("device")));
  }
  nb::tuple sizes = nb::borrow<nb::tuple>(t.attr("shape"));  // torch.Size is a tuple
  nb::tuple strides = nb::borrow<nb::tuple>(t.attr("stride")());
  size_t rank = nb::len(sizes);
  if (rank > size_t(TensorView::kMaxRank)) {
    throw Error(ErrorKind::shape, std::string(name) + ": expected at most " +
                                      std::to_string(TensorView::kMaxRank) + " dimensions, got " +
                                      std::to_string(rank));
  }
  std::array<int64_t, TensorView::kMaxRank> shape{}, stride{};
  for (size_t i = 0; i < rank; ++i) {
    shape[i] = nb::cast<int64_t>(sizes[i]);
    stride[i] = nb::cast<int64_t>(strides[i]);
  }
  auto* data = reinterpret_cast<void*>(nb::cast<std::uintptr_t>(t.attr("data_ptr")()));
  std::span<const int64_t> strides_used(stride.data(), rank);
  if (has_no_elements(shape.data(), rank)) strides_used = {};
  return TensorView(data, *found, std::span<const int64_t>(shape.data(), rank), strides_used,
                    device);
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

TensorView Views::in(nb::handle array, const char* name) {
  if (array.is_none()) return {};
  if (is_torch_tensor(array)) return view_from_torch(array, name);
  inputs_.push_back(import_dlpack<nb::ndarray<nb::ro>>(array, name, "an array"));
  return view_from_dlpack(inputs_.back(), name);
}

TensorView Views::out(nb::handle array, const char* name) {
  if (array.is_none()) return {};
  if (is_torch_tensor(array)) return view_from_torch(array, name);
  outputs_.push_back(import_dlpack<nb::ndarray<>>(array, name, "a writable array"));
  return view_from_dlpack(outputs_.back(), name);
}

void register_torch(nb::handle tensor_type, nb::list dtypes) {
  if (!PyType_Check(tensor_type.ptr())) throw nb::type_error("expected torch.Tensor");
  TorchTypes types;
  types.tensor = reinterpret_cast<PyTypeObject*>(tensor_type.ptr());
  for (nb::handle entry : dtypes) {
    auto pair = nb::cast<nb::tuple>(entry);
    // The torch dtype objects are module-level singletons that live as long as torch.
    types.dtypes.emplace_back(nb::object(pair[0]).release().ptr(), DType(nb::cast<int>(pair[1])));
  }
  Py_INCREF(types.tensor);
  torch_types = std::move(types);
}

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
