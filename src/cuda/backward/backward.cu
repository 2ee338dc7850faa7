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

// Writes one finished gradient row. G holds this lane's elements k = 4 lane + e (e < 4) of
// the gradient with respect to the scored vector; dim <= 128. Masked rows and rows outside
// every sequence get zeros; with normalisation, G goes through the Jacobian
// (G - u <u, G>) / |x|, taken in double because it cancels.
__device__ void finish_row(const Seqs& x, const Seqs& gx, const float* inv, int64_t row,
                           float (&G)[4]) {
  const int lane = int(threadIdx.x % 32);
  int64_t i = 0, j = 0;
  const bool in = locate(x, row, i, j);
  const bool ok = in && valid(x, i, j);
  const int64_t dim = x.dim, k = 4 * lane;
  if (!ok) {
    for (int e = 0; e < 4; ++e) G[e] = 0.0f;
  } else if (inv != nullptr) {
    const float s = inv[row];
    if (s == 0.0f) {
      for (int e = 0; e < 4; ++e) G[e] = 0.0f;
    } else {
      const Vec4 x4 = load4(x.data, x.dtype, token_offset(x, i, j), k, dim, vec4_ok(x));
      float u[4];
      double uu = 0, uG = 0;
      for (int e = 0; e < 4; ++e) {
        u[e] = x4.v[e] * s;
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
  store4(const_cast<unsigned char*>(gx.data), gx.dtype, goff, k, dim, vec4_ok(gx), G);
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
  static_assert(kQueryRowsPerBlock == kWarps, "one query-token row a warp");
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32);
  const int64_t row = int64_t(blockIdx.x) * kQueryRowsPerBlock + warp;
  if (row >= p.q.rows) return;  // no block-wide synchronisation below
  const int64_t k0 = int64_t(blockIdx.y) * kDimChunk, k = k0 + 4 * lane;
  const int64_t dim = p.q.dim, W = p.winners.width;
  const bool vec = vec4_ok(p.d);
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  int64_t qi = 0, t = 0;
  if (locate(p.q, row, qi, t) && t < W && valid(p.q, qi, t)) {
    const int64_t n = query_outputs(p.pairs, qi);
    for (int64_t n0 = 0; n0 < n; n0 += 32) {
      // Lane u looks up output n0 + u: its winner's row and scale, 32 outputs in one round.
      int64_t mine = -1;
      float my_scale = 0.0f;
      if (n0 + lane < n) {
        int64_t o = 0, di = 0;
        float g = 0.0f;
        if (query_pair(p, qi, n0 + lane, o, di, g)) {
          const int w = winner_at(p.winners, o, t);
          if (w >= 0 && w < seq_len(p.d, di)) {
            mine = token_offset(p.d, di, w);
            my_scale = g * (p.inv_d ? p.inv_d[seq_row(p.d, di) + w] : 1.0f);
          }
        }
      }
      const int count = int(imin(32, n - n0));
      for (int u0 = 0; u0 < count; u0 += kRowsInFlight) {
        // kRowsInFlight rows loaded together; the sums stay in output order.
        int64_t off[kRowsInFlight];
        float scale[kRowsInFlight];
        Vec4 x[kRowsInFlight];
#pragma unroll
        for (int u = 0; u < kRowsInFlight; ++u) {
          off[u] = __shfl_sync(kAll, mine, u0 + u);
          scale[u] = __shfl_sync(kAll, my_scale, u0 + u);
          x[u] = off[u] >= 0 ? load4(p.d.data, p.d.dtype, off[u], k, dim, vec)
                             : Vec4{{0.0f, 0.0f, 0.0f, 0.0f}};
        }
#pragma unroll
        for (int u = 0; u < kRowsInFlight; ++u) {
          if (off[u] < 0) continue;
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[e] = fmaf(scale[u], x[u].v[e], acc[e]);
        }
      }
    }
  }
  if (p.ws_q == nullptr) {
    finish_row(p.q, p.gq, p.inv_q, row, acc);
  } else {
    for (int e = 0; e < 4; ++e) {
      if (k + e < dim) p.ws_q[row * dim + k + e] = acc[e];
    }
  }
}

// One stage of grad_D: kStageOutputs outputs of one document and 32 of their query tokens.
struct DocStage {
  int64_t o[kStageOutputs];
  int64_t q_off[kStageOutputs];  // element offset of the output's query token 0
  int64_t q_row[kStageOutputs];  // its flat row (inverse norms)
  float g[kStageOutputs];
  int tokens[kStageOutputs];  // query tokens that have winners (0: no such output)
  // The winner of (output u, token t0 + c) as a row of this block, 0xff when it is elsewhere.
  unsigned char local[kStageOutputs][32];
  // Each warp's contributions in (output, token) order, as u * 32 + c.
  unsigned short list[kWarps][kStageOutputs * 32];
};

template <bool kDeterministic>
__global__ void __launch_bounds__(256) grad_d_kernel(BackwardParams p) {
  // acc[row][e * 32 + c] is element k = 4 c + e of that row: lane c's four elements sit in
  // four banks apart, so that the scalar read-modify-writes (or atomics) do not conflict.
  extern __shared__ __align__(16) float acc[];  // [kDocRowsPerBlock][kDimChunk]
  __shared__ DocStage st;
  const int lane = int(threadIdx.x % 32), warp = int(threadIdx.x / 32);
  const int64_t r0 = int64_t(blockIdx.x) * kDocRowsPerBlock;
  const int64_t k0 = int64_t(blockIdx.y) * kDimChunk, k = k0 + 4 * lane;
  const int64_t dim = p.d.dim, W = p.winners.width;
  const bool vec = vec4_ok(p.q);
  for (int i = int(threadIdx.x); i < kDocRowsPerBlock * kDimChunk; i += 256) acc[i] = 0.0f;

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
    for (int64_t n0 = 0; n0 < n; n0 += kStageOutputs) {
      __syncthreads();  // the previous stage's readers are done
      if (threadIdx.x < kStageOutputs) {
        const int u = int(threadIdx.x);
        int64_t o = 0, qi = 0;
        float g = 0.0f;
        int tokens = 0;
        if (n0 + u < n && document_pair(p, di, n0 + u, o, qi, g)) {
          tokens = int(imin(W, seq_len(p.q, qi)));
          st.o[u] = o;
          st.q_off[u] = token_offset(p.q, qi, 0);
          st.q_row[u] = seq_row(p.q, qi);
          st.g[u] = g;
        }
        st.tokens[u] = tokens;
      }
      __syncthreads();
      int most = 0;
      for (int u = 0; u < kStageOutputs; ++u) most = max(most, st.tokens[u]);
      for (int t0 = 0; t0 < most; t0 += 32) {
        if (t0 > 0) __syncthreads();  // this stage's previous tokens are done
        // The winners of 16 outputs x 32 tokens, each read once by the block.
        for (int i = int(threadIdx.x); i < kStageOutputs * 32; i += 256) {
          const int u = i / 32, c = i % 32, t = t0 + c;
          unsigned char v = 0xff;
          if (t < st.tokens[u]) {
            const int w = winner_at(p.winners, st.o[u], t);
            const int64_t r = base + w;
            if (w >= 0 && w < len && r >= lo && r < hi) v = (unsigned char)(r - r0);
          }
          st.local[u][c] = v;
        }
        __syncthreads();
        // This warp's contributions: deterministic, the rows r with r % 8 == warp (all
        // outputs, in order); fast, every eighth output (rows shared, atomics).
        int count = 0;
        for (int u = kDeterministic ? 0 : warp; u < kStageOutputs;
             u += kDeterministic ? 1 : kWarps) {
          const unsigned char v = st.local[u][lane];
          const bool take = v != 0xff && (!kDeterministic || v % kWarps == warp);
          const unsigned bits = __ballot_sync(kAll, take);
          if (take)
            st.list[warp][count + __popc(bits & ((1u << lane) - 1))] =
                (unsigned short)(u * 32 + lane);
          count += __popc(bits);
        }
        __syncwarp();
        for (int j0 = 0; j0 < count; j0 += kRowsInFlight) {
          // kRowsInFlight query rows loaded together, added in list order.
          int local[kRowsInFlight];
          float scale[kRowsInFlight];
          Vec4 x[kRowsInFlight];
#pragma unroll
          for (int j = 0; j < kRowsInFlight; ++j) {
            local[j] = -1;
            scale[j] = 0.0f;
            x[j] = Vec4{{0.0f, 0.0f, 0.0f, 0.0f}};
            if (j0 + j >= count) continue;
            const int e = st.list[warp][j0 + j], u = e / 32, c = e % 32;
            const int64_t t = t0 + c;
            local[j] = st.local[u][c];
            scale[j] = st.g[u] * (p.inv_q ? p.inv_q[st.q_row[u] + t] : 1.0f);
            x[j] = load4(p.q.data, p.q.dtype, st.q_off[u] + t * p.q.token_stride, k, dim, vec);
          }
#pragma unroll
          for (int j = 0; j < kRowsInFlight; ++j) {
            if (local[j] < 0) continue;
            float* a = acc + local[j] * kDimChunk + lane;
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              if (kDeterministic) {
                a[32 * e] = fmaf(scale[j], x[j].v[e], a[32 * e]);
              } else {
                atomicAdd(a + 32 * e, scale[j] * x[j].v[e]);
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
    for (int e = 0; e < 4; ++e) G[e] = acc[local * kDimChunk + 32 * e + lane];
    if (p.ws_d == nullptr) {
      finish_row(p.d, p.gd, p.inv_d, row, G);
    } else {
      for (int e = 0; e < 4; ++e) {
        if (k + e < dim) p.ws_d[row * dim + k + e] = G[e];
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
