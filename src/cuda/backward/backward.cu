#include <cub/device/device_radix_sort.cuh>

#include <algorithm>
#include <type_traits>

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
// The row is token j of sequence i when `in` (else a row past every sequence: zeros at
// row * token_stride).
__device__ __forceinline__ void finish_row_at(const Seqs& x, const Seqs& gx, const float* inv,
                                              int64_t row, bool in, int64_t i, int64_t j,
                                              float (&G)[4]) {
  const int lane = int(threadIdx.x % 32);
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

__device__ __forceinline__ void finish_row(const Seqs& x, const Seqs& gx, const float* inv,
                                           int64_t row, float (&G)[4]) {
  int64_t i = 0, j = 0;
  const bool in = locate(x, row, i, j);
  finish_row_at(x, gx, inv, row, in, i, j, G);
}

// Adds the rows in flight that are taken to this lane's sums, in order (the order is what
// makes the sums deterministic).
__device__ __forceinline__ void add_rows(float (&acc)[4], const bool (&take)[kRowsInFlight],
                                         const float (&scale)[kRowsInFlight],
                                         const Vec4 (&x)[kRowsInFlight]) {
#pragma unroll
  for (int j = 0; j < kRowsInFlight; ++j) {
    if (!take[j]) continue;
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[e] = fmaf(scale[j], x[j].v[e], acc[e]);
  }
}

// Hands a gradient row's fp32 sums (this lane's elements k .. k + 3) on: finished here when
// the row fits one block (dim <= 128), else to scratch for finish_kernel.
__device__ __forceinline__ void write_row(const Seqs& x, const Seqs& gx, const float* inv,
                                          float* ws, int64_t row, int64_t k, float (&acc)[4]) {
  if (ws == nullptr) {
    finish_row(x, gx, inv, row, acc);
  } else {
    for (int e = 0; e < 4; ++e) {
      if (k + e < x.dim) ws[row * x.dim + k + e] = acc[e];
    }
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

// kDT: the documents' element type (the gathered rows), fixed at compile time so that the
// unrolled gathers hold one conversion each. kWide: every document row is aligned for one wide
// access and the embedding is whole 128-element chunks, so that a gather is one unconditional
// load (an output without a winner reads row 0 and adds nothing).
template <int kDT, bool kWide>
__global__ void __launch_bounds__(256) grad_q_kernel(BackwardParams p) {
  static_assert(kQueryRowsPerBlock == kWarps, "one query-token row a warp");
  // The warp index from lane 0: the compiler then knows the row, and the loops below, uniform
  // across the warp (no divergence handling around the shuffles).
  const int lane = int(threadIdx.x % 32), warp = __shfl_sync(kAll, int(threadIdx.x / 32), 0);
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
          if constexpr (kWide) {
            x[u] = load4_wide<kDT>(p.d.data, off[u] >= 0 ? off[u] : 0, k);
          } else {
            x[u] = off[u] >= 0 ? load4<kDT>(p.d.data, off[u], k, dim, vec)
                               : Vec4{{0.0f, 0.0f, 0.0f, 0.0f}};
          }
        }
        bool take[kRowsInFlight];
#pragma unroll
        for (int u = 0; u < kRowsInFlight; ++u) take[u] = off[u] >= 0;
        add_rows(acc, take, scale, x);
      }
    }
  }
  write_row(p.q, p.gq, p.inv_q, p.ws_q, row, k, acc);
}

// One stage of grad_D: up to kStageOutputs outputs of one document and 32 of their query
// tokens, whose winners are sorted by the block row they fall on.
struct DocStage {
  int64_t o[kStageOutputs];
  int64_t q_off[kStageOutputs];  // element offset of the output's query token 0
  int64_t q_row[kStageOutputs];  // its flat row (inverse norms)
  float g[kStageOutputs];
  int tokens[kStageOutputs];  // query tokens that have winners (0: no such output)
  // The winner of (output u, token t0 + c) as a row of this block, 0xff when it is elsewhere.
  unsigned char local[kStageOutputs][32];
  // Entries u * 32 + c sorted by row, in (output, token) order within a row; the row in
  // the bits above kEntryBits.
  unsigned sorted[kStageOutputs * 32];
  unsigned short count[kWarps][kDocRowsPerBlock];  // a warp's entries per row, then its cursor
  int row_begin[kDocRowsPerBlock + 1];
  // The sum of a row's entries that a warp took after another warp began the row (the stage's
  // entries are split evenly over the warps): added in warp order after the stage.
  float4 carry[kWarps][32];
  int carry_row[kWarps];
};
constexpr int kEntryBits = 12;
static_assert(kStageOutputs * 32 <= (1 << kEntryBits), "entry index fits its bits");

// The outputs a warp sorts: a contiguous share of the stage, so that the warps' shares in
// warp order are the stage in order.
__device__ __forceinline__ void warp_outputs(int outputs, int warp, int& u0, int& u1) {
  u0 = outputs * warp / kWarps;
  u1 = outputs * (warp + 1) / kWarps;
}

// grad_D. The block's rows take their contributions in (output, token) order whatever the
// strategy: each stage's winners are counting-sorted by row (ranks from warp-level matches,
// no atomics), then the warps add up equal shares of the sorted entries in registers.
template <int kDT, bool kWide>
__global__ void __launch_bounds__(256) grad_d_kernel(BackwardParams p) {
  extern __shared__ __align__(16) float acc[];  // [kDocRowsPerBlock][kDimChunk]
  __shared__ DocStage st;
  // The warp index from lane 0: each warp's share of a stage known uniform across the warp.
  const int lane = int(threadIdx.x % 32), warp = __shfl_sync(kAll, int(threadIdx.x / 32), 0);
  const unsigned below = (1u << lane) - 1;
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
      const int outputs = int(imin(kStageOutputs, n - n0));
      __syncthreads();  // the previous stage's readers are done
      for (int u = int(threadIdx.x); u < outputs; u += 256) {
        int64_t o = 0, qi = 0;
        float g = 0.0f;
        int tokens = 0;
        if (document_pair(p, di, n0 + u, o, qi, g)) {
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
      for (int u = 0; u < outputs; ++u) most = max(most, st.tokens[u]);
      for (int t0 = 0; t0 < most; t0 += 32) {
        if (t0 > 0) __syncthreads();  // this stage's previous tokens are done
        // The stage's winners, each read once by the block, as rows of the block.
        for (int i = int(threadIdx.x); i < outputs * 32; i += 256) {
          const int u = i / 32, c = i % 32, t = t0 + c;
          unsigned char v = 0xff;
          if (t < st.tokens[u]) {
            const int w = winner_at(p.winners, st.o[u], t);
            const int64_t r = base + w;
            if (w >= 0 && w < len && r >= lo && r < hi) v = (unsigned char)(r - r0);
          }
          st.local[u][c] = v;
        }
        for (int i = int(threadIdx.x); i < kWarps * kDocRowsPerBlock; i += 256) {
          (&st.count[0][0])[i] = 0;
        }
        __syncthreads();
        // Count: each warp its share of outputs, a group of equal rows at a time.
        int u0 = 0, u1 = 0;
        warp_outputs(outputs, warp, u0, u1);
        for (int u = u0; u < u1; ++u) {
          const unsigned v = st.local[u][lane];
          const unsigned peers = __match_any_sync(kAll, v);
          if (v != 0xff && (peers & below) == 0) st.count[warp][v] += __popc(peers);
          __syncwarp();  // the next group's leader may be another lane
        }
        __syncthreads();
        // Row starts (row-major over warps), then each warp's first slot in each row.
        if (threadIdx.x < 32) {
          int total[4], sum = 0;
          for (int q = 0; q < 4; ++q) {
            const int r = 4 * lane + q;
            int t = 0;
            for (int w = 0; w < kWarps; ++w) t += st.count[w][r];
            total[q] = t;
            sum += t;
          }
          int before = sum;  // inclusive scan over lanes, then exclusive
          for (int m = 1; m < 32; m <<= 1) {
            const int x = __shfl_up_sync(kAll, before, m);
            if (lane >= m) before += x;
          }
          before -= sum;
          for (int q = 0; q < 4; ++q) {
            const int r = 4 * lane + q;
            st.row_begin[r] = before;
            int at = before;
            for (int w = 0; w < kWarps; ++w) {
              const int c = st.count[w][r];
              st.count[w][r] = (unsigned short)at;
              at += c;
            }
            before += total[q];
          }
          if (lane == 31) st.row_begin[kDocRowsPerBlock] = before;
        }
        __syncthreads();
        // Place: the same walk, each entry at its warp's cursor plus its rank among equals.
        for (int u = u0; u < u1; ++u) {
          const unsigned v = st.local[u][lane];
          const unsigned peers = __match_any_sync(kAll, v);
          const int at = v != 0xff ? st.count[warp][v] : 0;
          __syncwarp();
          if (v != 0xff) {
            st.sorted[at + __popc(peers & below)] = (v << kEntryBits) | unsigned(u * 32 + lane);
            if ((peers & below) == 0) st.count[warp][v] = (unsigned short)(at + __popc(peers));
          }
          __syncwarp();
        }
        __syncthreads();
        // Add: the stage's sorted entries are split evenly over the warps (a warp per 16 rows
        // left most warps idle on a block's share of a short document), kRowsInFlight query
        // rows loaded together; a row's sum stays in registers until the next row begins.
        // A row begun by an earlier warp is summed from zero into this warp's carry and added
        // after the stage, in warp order: the split points depend on the counts only, so the
        // sums are the same run after run.
        const int all = st.row_begin[kDocRowsPerBlock];
        const int begin = all * warp / kWarps, end = all * (warp + 1) / kWarps;
        int cur = -1;
        bool carried = false;
        float4 a = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        if (lane == 0) st.carry_row[warp] = -1;
        const auto put = [&]() {
          if (cur < 0) return;
          if (carried) {
            st.carry[warp][lane] = a;
            if (lane == 0) st.carry_row[warp] = cur;
          } else {
            reinterpret_cast<float4*>(acc + cur * kDimChunk)[lane] = a;
          }
        };
        for (int j0 = begin; j0 < end; j0 += kRowsInFlight) {
          unsigned ent[kRowsInFlight];
          float scale[kRowsInFlight];
          Vec4 x[kRowsInFlight];
#pragma unroll
          for (int j = 0; j < kRowsInFlight; ++j) {
            ent[j] = 0xffffffffu;
            scale[j] = 0.0f;
            x[j] = Vec4{{0.0f, 0.0f, 0.0f, 0.0f}};
            if (j0 + j >= end) continue;
            ent[j] = st.sorted[j0 + j];
            const int e = int(ent[j] & ((1u << kEntryBits) - 1)), u = e / 32;
            const int64_t t = t0 + e % 32;
            scale[j] = st.g[u] * (p.inv_q ? p.inv_q[st.q_row[u] + t] : 1.0f);
            const int64_t off = st.q_off[u] + t * p.q.token_stride;
            x[j] =
                kWide ? load4_wide<kDT>(p.q.data, off, k) : load4<kDT>(p.q.data, off, k, dim, vec);
          }
#pragma unroll
          for (int j = 0; j < kRowsInFlight; ++j) {
            if (ent[j] == 0xffffffffu) continue;
            const int row = int(ent[j] >> kEntryBits);
            if (row != cur) {
              put();
              carried = cur < 0 && st.row_begin[row] < begin;  // only the range's first row
              cur = row;
              a = carried ? make_float4(0.0f, 0.0f, 0.0f, 0.0f)
                          : reinterpret_cast<const float4*>(acc + cur * kDimChunk)[lane];
            }
            a.x = fmaf(scale[j], x[j].v[0], a.x);
            a.y = fmaf(scale[j], x[j].v[1], a.y);
            a.z = fmaf(scale[j], x[j].v[2], a.z);
            a.w = fmaf(scale[j], x[j].v[3], a.w);
          }
        }
        put();
        __syncthreads();
        if (warp == 0) {
          for (int w = 1; w < kWarps; ++w) {
            const int r = st.carry_row[w];
            if (r < 0) continue;
            float4* at = reinterpret_cast<float4*>(acc + r * kDimChunk) + lane;
            const float4 c = st.carry[w][lane];
            float4 v = *at;
            v.x += c.x;
            v.y += c.y;
            v.z += c.z;
            v.w += c.w;
            *at = v;
          }
        }
      }
    }
  }
  __syncthreads();
  for (int local = warp; local < kDocRowsPerBlock; local += kWarps) {
    const int64_t row = r0 + local;
    if (row >= p.d.rows) break;
    const float4 s4 = reinterpret_cast<const float4*>(acc + local * kDimChunk)[lane];
    float G[4] = {s4.x, s4.y, s4.z, s4.w};
    write_row(p.d, p.gd, p.inv_d, p.ws_d, row, k, G);
  }
}

// grad_D when every document has one output and documents are padded (per-query
// candidates, pairs) and queries have at most 32 * kOneOutputChunks tokens: a warp owns a
// document. Its lanes hold the winners of the output's query tokens; each row of the document
// takes one ballot per 32 tokens for those whose winner it is, gathers them in token order,
// and the many rows that are nobody's winner are written as zeros without further work.
// (The staged kernel spent a stage, its barriers and a sort on each document's 32 entries.)
constexpr int kOneOutputChunks = 4;

template <int kDT, bool kWide>
__global__ void __launch_bounds__(256) grad_d_one_output_kernel(BackwardParams p) {
  // The warp index from lane 0: the document, and every loop below, known uniform across the
  // warp (no divergence handling around the ballots).
  const int lane = int(threadIdx.x % 32), warp = __shfl_sync(kAll, int(threadIdx.x / 32), 0);
  const int64_t di = int64_t(blockIdx.x) * kWarps + warp;
  if (di >= p.d.count) return;  // no block-wide synchronisation below
  const int64_t k0 = int64_t(blockIdx.y) * kDimChunk, k = k0 + 4 * lane;
  const int64_t dim = p.d.dim, len = p.d.length, W = p.winners.width;
  const bool vec = vec4_ok(p.q), gvec = vec4_ok(p.gd);
  int win[kOneOutputChunks];
#pragma unroll
  for (int c = 0; c < kOneOutputChunks; ++c) win[c] = -1;
  int64_t o = 0, qi = 0, q_off = 0, q_row = 0;
  float g = 0.0f;
  if (document_pair(p, di, 0, o, qi, g)) {
    const int64_t tokens = imin(W, seq_len(p.q, qi));
    q_off = token_offset(p.q, qi, 0);
    q_row = seq_row(p.q, qi);
#pragma unroll
    for (int c = 0; c < kOneOutputChunks; ++c) {
      const int64_t t = 32 * c + lane;
      if (t < tokens) {
        const int w = winner_at(p.winners, o, t);
        if (w >= 0 && w < len) win[c] = w;
      }
    }
  }
  const float zeros[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  // Row w's gradient is at g0 + w * token_stride: token_offset divides by the inner extent
  // (64-bit) for 4-D documents ([queries, candidates, tokens, dim]), once here, not per row.
  const int64_t g0 = token_offset(p.gd, di, 0), gstride = p.gd.token_stride;
  for (int64_t w = 0; w < len; ++w) {
    const int64_t row = di * len + w;
    unsigned bits[kOneOutputChunks], any = 0;
#pragma unroll
    for (int c = 0; c < kOneOutputChunks; ++c) {
      // (win[c] is -1 past the query's tokens: no row matches there.)
      bits[c] = __ballot_sync(kAll, win[c] == int(w));
      any |= bits[c];
    }
    if (any == 0) {
      if constexpr (kWide) {
        store4_wide<kDT>(const_cast<unsigned char*>(p.gd.data), g0 + w * gstride, k, zeros);
      } else if (p.ws_d == nullptr) {
        store4(const_cast<unsigned char*>(p.gd.data), p.gd.dtype, g0 + w * gstride, k, dim, gvec,
               zeros);
      } else {
        for (int e = 0; e < 4; ++e) {
          if (k + e < dim) p.ws_d[row * dim + k + e] = 0.0f;
        }
      }
      continue;
    }
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
    for (int c = 0; c < kOneOutputChunks; ++c) {
      unsigned b = bits[c];
      while (b != 0) {
        // Up to kRowsInFlight tokens loaded together, added in token order.
        int64_t t[kRowsInFlight];
        float scale[kRowsInFlight];
        Vec4 x[kRowsInFlight];
#pragma unroll
        for (int j = 0; j < kRowsInFlight; ++j) {
          t[j] = -1;
          scale[j] = 0.0f;
          x[j] = Vec4{{0.0f, 0.0f, 0.0f, 0.0f}};
          if (b == 0) continue;
          t[j] = 32 * c + __ffs(int(b)) - 1;
          b &= b - 1;
          scale[j] = g * (p.inv_q ? p.inv_q[q_row + t[j]] : 1.0f);
          const int64_t off = q_off + t[j] * p.q.token_stride;
          x[j] = kWide ? load4_wide<kDT>(p.q.data, off, k) : load4<kDT>(p.q.data, off, k, dim, vec);
        }
        bool take[kRowsInFlight];
#pragma unroll
        for (int j = 0; j < kRowsInFlight; ++j) take[j] = t[j] >= 0;
        add_rows(acc, take, scale, x);
      }
    }
    if (p.ws_d == nullptr) {
      finish_row_at(p.d, p.gd, p.inv_d, row, true, di, w, acc);
    } else {
      write_row(p.d, p.gd, p.inv_d, p.ws_d, row, k, acc);
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

// Calls f with a flag as a compile-time constant (the kernels' kWide).
template <typename F>
void with_flag(bool flag, F&& f) {
  if (flag) {
    f(std::true_type{});
  } else {
    f(std::false_type{});
  }
}

// Calls f with the element type as a compile-time constant (the kernels are templates on it).
template <typename F>
void with_elem_type(int dtype, F&& f) {
  if (dtype == kF32) {
    f(std::integral_constant<int, kF32>{});
  } else if (dtype == kF16) {
    f(std::integral_constant<int, kF16>{});
  } else {
    f(std::integral_constant<int, kBF16>{});
  }
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
  const bool wide = vec4_ok(p.d) && p.q.dim % kDimChunk == 0;
  with_elem_type(p.d.dtype, [&](auto dt) {
    with_flag(wide, [&](auto w) {
      grad_q_kernel<decltype(dt)::value, decltype(w)::value><<<grid, 256, 0, stream>>>(p);
    });
  });
  if (p.ws_q != nullptr) {
    finish_kernel<<<unsigned((p.q.rows + kWarps - 1) / kWarps), 32 * kWarps, 0, stream>>>(
        p.q, p.gq, p.inv_q, p.ws_q);
  }
}

// Both strategies take the same grad_D: it sums in a fixed order without atomics and was
// faster than the shared-memory atomics it replaced.
void launch_grad_d(const BackwardParams& p, cudaStream_t stream) {
  if (p.d.rows == 0) return;
  const dim3 grid(unsigned((p.d.rows + kDocRowsPerBlock - 1) / kDocRowsPerBlock),
                  unsigned((p.d.dim + kDimChunk - 1) / kDimChunk));
  const bool one_output = p.pairs.pairing == kGrouped || p.pairs.pairing == kDiagonal;
  // Whole 128-element chunks of query rows aligned for one wide load each: unconditional loads.
  const bool wide_q = vec4_ok(p.q) && p.q.dim % kDimChunk == 0;
  if (one_output && p.d.cu == nullptr && p.winners.width <= 32 * kOneOutputChunks) {
    const dim3 docs(unsigned((p.d.count + kWarps - 1) / kWarps), grid.y);
    // ... and unwon rows written as zeros with one wide store of the query's element type.
    const bool wide = wide_q && p.ws_d == nullptr && vec4_ok(p.gd) && p.gd.dtype == p.q.dtype;
    with_elem_type(p.q.dtype, [&](auto dt) {
      with_flag(wide, [&](auto w) {
        grad_d_one_output_kernel<decltype(dt)::value, decltype(w)::value>
            <<<docs, 256, 0, stream>>>(p);
      });
    });
  } else {
    const size_t bytes = size_t(kDocRowsPerBlock) * kDimChunk * sizeof(float);
    with_elem_type(p.q.dtype, [&](auto dt) {
      with_flag(wide_q, [&](auto w) {
        const auto kernel = grad_d_kernel<decltype(dt)::value, decltype(w)::value>;
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
        kernel<<<grid, 256, bytes, stream>>>(p);
      });
    });
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
