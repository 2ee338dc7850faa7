// random_tokens.hpp — random unit-length token embeddings in any colmax input dtype.
#pragma once

#include <cstddef>
#include <cstdint>

#include "colmax/colmax.hpp"

namespace colmax::cli {

// Fills `dst` with `tokens` x `dim` elements of `dtype` (float32, float16 or bfloat16): each
// token an independent direction of unit length. Each block of tokens has its own random
// stream, so the result does not depend on `threads`.
void fill_unit_tokens(std::byte* dst, DType dtype, int64_t tokens, int64_t dim, uint64_t seed,
                      int threads);

}  // namespace colmax::cli
