#include <cub/device/device_radix_sort.cuh>

#include <algorithm>

#include "cuda/backward/backward.cuh"
#include "cuda/backward/device.cuh"

namespace colmax::detail::cuda_train {
namespace {

constexpr int kWarps = 8;
constexpr unsigned kAll = 0xffffffffu;

__device__ __forceinline__ float warp_sum(float v) {
  for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(kAll, v, m);
  return v;
}
__device__ __forceinline__ double warp_sum(double v) {
  for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(kAll, v, m);
  return v;
}

__global__ void inverse_norms_kernel(Seqs s, float* inv) {
  const int lane = int(threadIdx.x % 32);
  const int64_t row = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (row >= s.rows) return;
  int64_t i = 0, j = 0;
  float v = 0.0f;
  if (locate(s, row, i, j) && valid(s, i, j)) {
    const int64_t off = token_offset(s, i, j);
    float n2 = 0.0f;
    for (int64_t k = lane; k < s.dim; k += 32) {
      const float x = load_float(s.data, s.dtype, off + k);
      n2 = fmaf(x, x, n2);
    }
    n2 = warp_sum(n2);
    // A zero vector stays zero; a NaN stays NaN (so that it reaches every score and gradient).
    v = n2 > 0.0f ? 1.0f / sqrtf(n2) : (isnan(n2) ? n2 : 0.0f);
  }
  if (lane == 0) inv[row] = v;
}

// Writes one finished gradient row. G holds this lane's elements k = lane + 32 e (e < 4) of
// the gradient with respect to the scored vector; dim <= 128. Masked rows and rows outside
// every sequence get zeros; with normalisation, G goes through the Jacobian
// (G - u <u, G>) / |x|, taken in double because it cancels.
__device__ void finish_row(const Seqs& x, const Seqs& gx, const float* inv, int64_t row,
                           float (&G)[4]) {
  const int lane = int(threadIdx.x % 32);
  int64_t i = 0, j = 0;
  const bool in = locate(x, row, i, j);
  const bool ok = in && valid(x, i, j);
  const int64_t dim = x.dim;
  if (!ok) {
    for (int e = 0; e < 4; ++e) G[e] = 0.0f;
  } else if (inv != nullptr) {
    const float s = inv[row];
    if (s == 0.0f) {
      for (int e = 0; e < 4; ++e) G[e] = 0.0f;
    } else {
      const int64_t off = token_offset(x, i, j);
      float u[4];
      double uu = 0, uG = 0;
      for (int e = 0; e < 4; ++e) {
        const int64_t k = lane + 32 * e;
        u[e] = k < dim ? load_float(x.data, x.dtype, off + k) * s : 0.0f;
        uu += double(u[e]) * u[e];
        uG += double(u[e]) * G[e];
      }
      uu = warp_sum(uu);
      uG = warp_sum(uG);
      const double along = uu > 0 ? uG / uu : 0.0;
      for (int e = 0; e < 4; ++e) G[e] = float((double(G[e]) - u[e] * along) * s);
    }
  }
  const int64_t goff = in ? token_offset(gx, i, j) : row * gx.token_stride;
  unsigned char* out = const_cast<unsigned char*>(gx.data);
  for (int e = 0; e < 4; ++e) {
    const int64_t k = lane + 32 * e;
    if (k < dim) store_float(out, gx.dtype, goff + k, G[e]);
  }
}

// The same for rows wider than 128, from fp32 sums in scratch memory: one warp a row.
__global__ void finish_kernel(Seqs x, Seqs gx, const float* inv, const float* ws) {
  const int lane = int(threadIdx.x % 32);
  const int64_t row = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (row >= x.rows) return;
  int64_t i = 0, j = 0;
  const bool in = locate(x, row, i, j);
  const bool ok = in && valid(x, i, j);
  const int64_t dim = x.dim;
  const float* G = ws + row * dim;
  const int64_t goff = in ? token_offset(gx, i, j) : row * gx.token_stride;
  unsigned char* out = const_cast<unsigned char*>(gx.data);
  const float s = inv != nullptr && ok ? inv[row] : 1.0f;
  double along = 0;
  const int64_t off = ok ? token_offset(x, i, j) : 0;
  if (ok && inv != nullptr && s != 0.0f) {
    double uu = 0, uG = 0;
    for (int64_t k = lane; k < dim; k += 32) {
      const float u = load_float(x.data, x.dtype, off + k) * s;
      uu += double(u) * u;
      uG += double(u) * G[k];
    }
    uu = warp_sum(uu);
    uG = warp_sum(uG);
    along = uu > 0 ? uG / uu : 0.0;
  }
  for (int64_t k = lane; k < dim; k += 32) {
    float v = 0.0f;
    if (ok && inv == nullptr) {
      v = G[k];
    } else if (ok && s != 0.0f) {
      const float u = load_float(x.data, x.dtype, off + k) * s;
      v = float((double(G[k]) - u * along) * s);
    }
    store_float(out, gx.dtype, goff + k, v);
  }
}

// The n-th output of query qi: its document and its incoming gradient (false for an
// out-of-range pair). No 64-bit division on the cross and grouped paths.
__device__ __forceinline__ bool query_pair(const BackwardParams& p, int64_t qi, int64_t n,
                                           int64_t& o, int64_t& di, float& g) {
  switch (p.pairs.pairing) {
    case kCross:
      o = qi * p.pairs.out_cols + n;
      di = n;
      g = *score_rc(p.grad_out, qi, n);
      return true;
    case kGrouped:
      o = qi * p.pairs.out_cols + n;
      di = o;
      g = *score_rc(p.grad_out, qi, n);
      return true;
    case kDiagonal:
      o = di = qi;
      g = *score_rc(p.grad_out, qi, 0);
      return true;
    default: {
      o = p.pairs.q_order[p.pairs.q_begin[qi] + n];
      di = pair_index(p.pairs.pair_d, p.pairs.pair64, o);
      g = *score_rc(p.grad_out, o, 0);
      return di >= 0 && di < p.d.count;
    }
  }
}

// The n-th output of document di: its query and its incoming gradient (false for an
// out-of-range pair).
__device__ __forceinline__ bool document_pair(const BackwardParams& p, int64_t di, int64_t n,
                                              int64_t& o, int64_t& qi, float& g) {
  switch (p.pairs.pairing) {
    case kCross:
      o = n * p.pairs.out_cols + di;
      qi = n;
      g = *score_rc(p.grad_out, n, di);
      return true;
    case kGrouped:
      o = di;
      qi = di / p.pairs.out_cols;
      g = *score_rc(p.grad_out, qi, di - qi * p.pairs.out_cols);
      return true;
    case kDiagonal:
      o = qi = di;
      g = *score_rc(p.grad_out, di, 0);
      return true;
    default: {
      o = p.pairs.d_order[p.pairs.d_begin[di] + n];
      qi = pair_index(p.pairs.pair_q, p.pairs.pair64, o);
      g = *score_rc(p.grad_out, o, 0);
      return qi >= 0 && qi < p.q.count;
    }
  }
}

__global__ void __launch_bounds__(256) grad_q_kernel(BackwardParams p) {
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32);
  const int64_t r0 = int64_t(blockIdx.x) * kQueryRowsPerBlock;
  const int64_t k0 = int64_t(blockIdx.y) * kDimChunk;
  const int64_t dim = p.q.dim, W = p.winners.width;
  for (int jr = 0; jr < kQueryRowsPerBlock / kWarps; ++jr) {
    const int64_t row = r0 + warp + kWarps * jr;
    if (row >= p.q.rows) break;
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    int64_t qi = 0, t = 0;
    if (locate(p.q, row, qi, t) && t < W && valid(p.q, qi, t)) {
      const int64_t n = query_outputs(p.pairs, qi);
      constexpr int U = 8;  // outputs whose rows are loaded together
      for (int64_t idx = 0; idx < n; idx += U) {
        // U outputs at a time: their loads are independent, the sums stay in order.
        int64_t off[U];
        float scale[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
          off[u] = -1;
          scale[u] = 0.0f;
          if (idx + u >= n) continue;
          int64_t o = 0, di = 0;
          float g = 0.0f;
          if (!query_pair(p, qi, idx + u, o, di, g)) continue;
          const int w = winner_at(p.winners, o, t);
          if (w < 0 || w >= seq_len(p.d, di)) continue;
          off[u] = token_offset(p.d, di, w);
          scale[u] = g * (p.inv_d ? p.inv_d[seq_row(p.d, di) + w] : 1.0f);
        }
        float x[U][4];
#pragma unroll
        for (int u = 0; u < U; ++u) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int64_t k = k0 + lane + 32 * e;
            x[u][e] = off[u] >= 0 && k < dim ? load_float(p.d.data, p.d.dtype, off[u] + k) : 0.0f;
          }
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
          if (off[u] < 0) continue;
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[e] = fmaf(scale[u], x[u][e], acc[e]);
        }
      }
    }
    if (p.ws_q == nullptr) {
      finish_row(p.q, p.gq, p.inv_q, row, acc);
    } else {
      for (int e = 0; e < 4; ++e) {
        const int64_t k = k0 + lane + 32 * e;
        if (k < dim) p.ws_q[row * dim + k] = acc[e];
      }
    }
  }
}

template <bool kDeterministic>
__global__ void __launch_bounds__(256) grad_d_kernel(BackwardParams p) {
  extern __shared__ __align__(16) float acc[];  // [kDocRowsPerBlock][kDimChunk]
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32);
  const int64_t r0 = int64_t(blockIdx.x) * kDocRowsPerBlock;
  const int64_t k0 = int64_t(blockIdx.y) * kDimChunk;
  const int64_t dim = p.d.dim, W = p.winners.width;
  for (int i = int(threadIdx.x); i < kDocRowsPerBlock * kDimChunk; i += 256) acc[i] = 0.0f;
  __syncthreads();

  // The documents whose rows fall in [r0, r0 + 128).
  int64_t d_first = 0, d_last = -1;
  if (!packed(p.d)) {
    if (p.d.length > 0) {
      d_first = r0 / p.d.length;
      d_last = imin(p.d.count - 1, (r0 + kDocRowsPerBlock - 1) / p.d.length);
    }
  } else {
    int64_t j = 0;
    if (locate(p.d, r0, d_first, j)) d_last = p.d.count - 1;  // stops at the chunk's end below
  }
  for (int64_t di = d_first; di <= d_last; ++di) {
    const int64_t base = seq_row(p.d, di), len = seq_len(p.d, di);
    if (base >= r0 + kDocRowsPerBlock) break;
    const int64_t lo = imax(base, r0), hi = imin(base + len, r0 + kDocRowsPerBlock);
    if (lo >= hi) continue;
    const int64_t n = document_outputs(p.pairs, di);
    for (int64_t idx = kDeterministic ? 0 : warp; idx < n; idx += kDeterministic ? 1 : kWarps) {
      int64_t o = 0, qi = 0;
      float g = 0.0f;
      if (!document_pair(p, di, idx, o, qi, g)) continue;
      const int64_t tmax = imin(W, seq_len(p.q, qi));
      const int64_t qrow = seq_row(p.q, qi);
      for (int64_t t0 = 0; t0 < tmax; t0 += 32) {
        const int64_t t = t0 + lane;
        const int w = t < tmax ? winner_at(p.winners, o, t) : -1;
        const int64_t r = base + w;
        bool mine = w >= 0 && w < len && r >= lo && r < hi;
        if (kDeterministic) mine = mine && ((r - r0) % kWarps) == warp;
        unsigned bits = __ballot_sync(kAll, mine);
        while (bits != 0) {
          // Up to four contributions: independent loads, then additions in lane order.
          int src[4], local[4], count = 0;
          for (; count < 4 && bits != 0; ++count) {
            src[count] = __ffs(int(bits)) - 1;
            bits &= bits - 1;
          }
          float x[4][4], scale[4];
          for (int u = 0; u < 4; ++u) {
            scale[u] = 0.0f;
            local[u] = 0;
            if (u >= count) continue;
            const int64_t tu = t0 + src[u];
            local[u] = int(__shfl_sync(kAll, r - r0, src[u]));
            scale[u] = g * (p.inv_q ? p.inv_q[qrow + tu] : 1.0f);
            const int64_t off = token_offset(p.q, qi, tu);
            for (int e = 0; e < 4; ++e) {
              const int64_t k = k0 + lane + 32 * e;
              x[u][e] = k < dim ? load_float(p.q.data, p.q.dtype, off + k) : 0.0f;
            }
          }
          for (int u = 0; u < count; ++u) {
            float* a = acc + local[u] * kDimChunk + lane;
            for (int e = 0; e < 4; ++e) {
              if (kDeterministic) {
                a[32 * e] = fmaf(scale[u], x[u][e], a[32 * e]);
              } else {
                atomicAdd(a + 32 * e, scale[u] * x[u][e]);
              }
            }
          }
        }
      }
    }
  }
  __syncthreads();
  for (int local = warp; local < kDocRowsPerBlock; local += kWarps) {
    const int64_t row = r0 + local;
    if (row >= p.d.rows) break;
    float G[4];
    for (int e = 0; e < 4; ++e) G[e] = acc[local * kDimChunk + lane + 32 * e];
    if (p.ws_d == nullptr) {
      finish_row(p.d, p.gd, p.inv_d, row, G);
    } else {
      for (int e = 0; e < 4; ++e) {
        const int64_t k = k0 + lane + 32 * e;
        if (k < dim) p.ws_d[row * dim + k] = G[e];
      }
    }
  }
}

// ---- pair-list inverse maps ---------------------------------------------------------------

__global__ void map_keys(const void* index, int is64, int64_t n, int64_t count, int64_t* keys,
                         int64_t* values) {
  const int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (o >= n) return;
  const int64_t k = pair_index(index, is64, o);
  keys[o] = k >= 0 && k < count ? k : count;  // out of range: a bucket no one reads
  values[o] = o;
}

__global__ void map_begins(const int64_t* sorted, int64_t n, int64_t count, int64_t* begin) {
  const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (i > count) return;
  int64_t lo = 0, hi = n;  // first position with key >= i
  while (lo < hi) {
    const int64_t mid = (lo + hi) / 2;
    if (sorted[mid] < i)
      lo = mid + 1;
    else
      hi = mid;
  }
  begin[i] = lo;
}

int key_bits(int64_t count) {
  int bits = 1;
  while ((int64_t(1) << bits) <= count) ++bits;
  return bits;
}

size_t align256(size_t n) {
  return (n + 255) / 256 * 256;
}

size_t sort_temp_bytes(int64_t n) {
  size_t bytes = 0;
  cub::DeviceRadixSort::SortPairs(
      nullptr, bytes, static_cast<const int64_t*>(nullptr), static_cast<int64_t*>(nullptr),
      static_cast<const int64_t*>(nullptr), static_cast<int64_t*>(nullptr), n);
  return bytes;
}

}  // namespace

void launch_inverse_norms(const Seqs& s, float* inv, cudaStream_t stream) {
  if (s.rows == 0) return;
  inverse_norms_kernel<<<unsigned((s.rows + kWarps - 1) / kWarps), 32 * kWarps, 0, stream>>>(s,
                                                                                             inv);
}

void launch_grad_q(const BackwardParams& p, cudaStream_t stream) {
  if (p.q.rows == 0) return;
  const dim3 grid(unsigned((p.q.rows + kQueryRowsPerBlock - 1) / kQueryRowsPerBlock),
                  unsigned((p.q.dim + kDimChunk - 1) / kDimChunk));
  grad_q_kernel<<<grid, 256, 0, stream>>>(p);
  if (p.ws_q != nullptr) {
    finish_kernel<<<unsigned((p.q.rows + kWarps - 1) / kWarps), 32 * kWarps, 0, stream>>>(
        p.q, p.gq, p.inv_q, p.ws_q);
  }
}

void launch_grad_d(const BackwardParams& p, cudaStream_t stream) {
  if (p.d.rows == 0) return;
  const dim3 grid(unsigned((p.d.rows + kDocRowsPerBlock - 1) / kDocRowsPerBlock),
                  unsigned((p.d.dim + kDimChunk - 1) / kDimChunk));
  const size_t bytes = size_t(kDocRowsPerBlock) * kDimChunk * sizeof(float);
  if (p.deterministic) {
    cudaFuncSetAttribute(grad_d_kernel<true>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                         int(bytes));
    grad_d_kernel<true><<<grid, 256, bytes, stream>>>(p);
  } else {
    cudaFuncSetAttribute(grad_d_kernel<false>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                         int(bytes));
    grad_d_kernel<false><<<grid, 256, bytes, stream>>>(p);
  }
  if (p.ws_d != nullptr) {
    finish_kernel<<<unsigned((p.d.rows + kWarps - 1) / kWarps), 32 * kWarps, 0, stream>>>(
        p.d, p.gd, p.inv_d, p.ws_d);
  }
}

size_t inverse_map_bytes(int64_t num_pairs, int64_t) {
  const size_t n = size_t(std::max<int64_t>(num_pairs, 1));
  return 3 * align256(n * sizeof(int64_t)) + align256(sort_temp_bytes(int64_t(n)));
}

void build_inverse_map(const void* pair_index, int is64, int64_t num_pairs, int64_t count,
                       void* scratch, int64_t* begin, int64_t* order, cudaStream_t stream) {
  const size_t n = size_t(std::max<int64_t>(num_pairs, 1));
  unsigned char* at = static_cast<unsigned char*>(scratch);
  int64_t* keys = reinterpret_cast<int64_t*>(at);
  int64_t* sorted = reinterpret_cast<int64_t*>(at + align256(n * 8));
  int64_t* values = reinterpret_cast<int64_t*>(at + 2 * align256(n * 8));
  void* temp = at + 3 * align256(n * 8);
  size_t temp_bytes = sort_temp_bytes(int64_t(n));
  if (num_pairs > 0) {
    map_keys<<<unsigned((num_pairs + 255) / 256), 256, 0, stream>>>(pair_index, is64, num_pairs,
                                                                    count, keys, values);
    cub::DeviceRadixSort::SortPairs(temp, temp_bytes, keys, sorted, values, order, num_pairs, 0,
                                    key_bits(count), stream);
  }
  map_begins<<<unsigned((count + 1 + 255) / 256), 256, 0, stream>>>(sorted, num_pairs, count,
                                                                    begin);
}

}  // namespace colmax::detail::cuda_train
