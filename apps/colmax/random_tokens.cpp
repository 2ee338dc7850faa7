// Random unit tokens for benchmarks: normal entries, normalised, stored in the target dtype.
#include "random_tokens.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "half.hpp"
#include "parallel.hpp"
#include "rng.hpp"

namespace colmax::cli {

void fill_unit_tokens(std::byte* dst, DType dtype, int64_t tokens, int64_t dim, uint64_t seed,
                      int threads) {
  constexpr int64_t kBlock = 1024;  // tokens per random stream
  const int64_t blocks = (tokens + kBlock - 1) / kBlock;
  const size_t elem = size_t(dtype_size(dtype));
  parallel_blocks(blocks, threads, [&](int64_t begin, int64_t end) {
    std::vector<float> v(static_cast<size_t>(dim));
    for (int64_t b = begin; b < end; ++b) {
      Rng rng(seed, uint64_t(b));
      for (int64_t t = b * kBlock; t < std::min(tokens, (b + 1) * kBlock); ++t) {
        float n2 = 0;
        for (float& x : v) {
          x = rng.normal();
          n2 += x * x;
        }
        const float inv = n2 > 0 ? 1.0f / std::sqrt(n2) : 0.0f;
        std::byte* out = dst + size_t(t * dim) * elem;
        for (int64_t k = 0; k < dim; ++k) {
          const float x = v[size_t(k)] * inv;
          if (dtype == DType::float32) {
            std::memcpy(out + size_t(k) * 4, &x, 4);
          } else {
            const uint16_t h = dtype == DType::bfloat16 ? float_to_bf16(x) : float_to_fp16(x);
            std::memcpy(out + size_t(k) * 2, &h, 2);
          }
        }
      }
    }
  });
}

}  // namespace colmax::cli
