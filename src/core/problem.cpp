#include "core/problem.hpp"

#include "core/scalar.hpp"

namespace colmax::detail {

bool mask_value(const std::byte* mask, DType dtype, int64_t offset) noexcept {
  return load_as_double(mask + offset * dtype_size(dtype), dtype) != 0.0;
}

}  // namespace colmax::detail
