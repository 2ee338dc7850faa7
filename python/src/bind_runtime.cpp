// Bindings of what the build and the machine offer (colmax/runtime.hpp).
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "colmax/runtime.hpp"

namespace colmax::python {

namespace nb = nanobind;

void bind_runtime(nb::module_& m) {
  m.def("version", &version);
  m.def("cpu_simd_level", &cpu_simd_level);
  m.def("default_num_threads", &default_num_threads);
  m.def("set_default_num_threads", &set_default_num_threads, nb::arg("threads"));
  m.def("cuda_built", &cuda_built);
  m.def("cuda_archs", &cuda_archs);
  m.def("cuda_devices", [] {
    nb::list devices;
    for (const GpuInfo& gpu : cuda_devices()) {
      nb::dict info;
      info["id"] = gpu.id;
      info["name"] = gpu.name;
      info["compute_capability"] = gpu.compute_capability;
      info["multiprocessors"] = gpu.multiprocessors;
      info["memory_bytes"] = gpu.memory_bytes;
      devices.append(info);
    }
    return devices;
  });
}

}  // namespace colmax::python
