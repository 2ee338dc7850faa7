// The tile kernel: fused MaxSim on tensor cores for every layout.
//
// Each block walks a contiguous range of pairs (a group of stacked queries x one document)
// as a stream of "stages": (pair, query-row chunk, document tile, k-chunk). A stage copies
// BN document tokens x 128 embedding bytes into shared memory with cp.async, `stages` deep,
// across pair boundaries, so many short documents keep the copy engine busy. The queries of
// a pair are copied into one of `qslots` shared-memory slots as part of the first stage that
// needs them and stay there while consecutive pairs share them.
//
// Warps compute S = Q Dᵀ tiles with mma.sync (bf16/fp16 m16n8k16, tf32 m16n8k8 for fp32 and
// mixed inputs, optionally split into three tf32 products for exact fp32) and fold each tile
// into an element-wise running max kept in the accumulator layout. Lanes are reduced once per
// document: quad shuffles, then across warps through shared memory; rows are summed per query
// and the score written. The similarity matrix never leaves registers.
//
// Masks and normalisation are applied in the fold: each column of a tile carries a flag
// (valid, masked, past the document's end) and, when normalising, 1/|d|; each row carries its
// validity and 1/|q|, applied to the row max (1/|q| > 0 commutes with max).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/common/device_access.cuh"
#include "cuda/common/ptx.cuh"
#include "cuda/common/slot_sums.cuh"
#include "cuda/tile/tile_params.hpp"

namespace colmax::cuda::tile {

template <Elem E>
struct ElemOps;

template <>
struct ElemOps<Elem::bf16> {
  static constexpr int bytes = 2;
  __device__ static uint32_t pack2(float a, float b) {
    __nv_bfloat162 h = __floats2bfloat162_rn(a, b);
    return *reinterpret_cast<uint32_t*>(&h);
  }
  __device__ static float2 unpack2(uint32_t u) {
    return __bfloat1622float2(*reinterpret_cast<__nv_bfloat162*>(&u));
  }
};

template <>
struct ElemOps<Elem::f16> {
  static constexpr int bytes = 2;
  __device__ static uint32_t pack2(float a, float b) {
    __half2 h = __floats2half2_rn(a, b);
    return *reinterpret_cast<uint32_t*>(&h);
  }
  __device__ static float2 unpack2(uint32_t u) {
    return __half22float2(*reinterpret_cast<__half2*>(&u));
  }
};

template <>
struct ElemOps<Elem::f32> {
  static constexpr int bytes = 4;
};

// Sum of squares of one 16-byte shared-memory vector of element type E.
template <Elem E>
__device__ __forceinline__ float sumsq16(const unsigned char* p) {
  const uint4 u = *reinterpret_cast<const uint4*>(p);
  if constexpr (E == Elem::f32) {
    const float a = __uint_as_float(u.x), b = __uint_as_float(u.y), c = __uint_as_float(u.z),
                d = __uint_as_float(u.w);
    return fmaf(a, a, fmaf(b, b, fmaf(c, c, d * d)));
  } else {
    float s = 0.f;
    const uint32_t w[4] = {u.x, u.y, u.z, u.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 f = ElemOps<E>::unpack2(w[i]);
      s = fmaf(f.x, f.x, fmaf(f.y, f.y, s));
    }
    return s;
  }
}

__device__ __forceinline__ float inv_norm_from_sumsq(float s) {
  // A zero vector stays zero; a NaN token already makes its products NaN.
  return s > 0.f ? 1.0f / sqrtf(s) : 0.f;
}

// Position of a block in its stream of stages.
struct Cursor {
  int i = 0, c = 0, t = 0, kc = 0;  // pair in batch, row chunk, document tile, k-chunk
  int qseq = -1;                    // how many query loads precede this position
  int64_t last_q0 = -1;
  int last_c = -1;
  bool newq = false;  // this stage starts a query chunk that is not in shared memory yet
};

__device__ __forceinline__ void cursor_enter(Cursor& k, const PairDesc* descs) {
  const int64_t q0 = descs[k.i].q0;
  k.newq = q0 < 0 || q0 != k.last_q0 || k.c != k.last_c;
  if (k.newq) {
    ++k.qseq;
    k.last_q0 = q0;
    k.last_c = k.c;
  }
}

__device__ __forceinline__ void cursor_begin(Cursor& k, const PairDesc* descs) {
  k.i = k.c = k.t = k.kc = 0;
  cursor_enter(k, descs);
}

// Advances to the next stage of the batch; false when the batch is exhausted.
__device__ __forceinline__ bool cursor_step(Cursor& k, const PairDesc* descs, int nkc, int n) {
  k.newq = false;
  if (++k.kc < nkc) return true;
  k.kc = 0;
  if (++k.t < descs[k.i].ntiles) return true;
  k.t = 0;
  if (++k.c < descs[k.i].nchunks) {
    cursor_enter(k, descs);
    return true;
  }
  k.c = 0;
  if (++k.i < n) {
    cursor_enter(k, descs);
    return true;
  }
  return false;
}

// Copies `rows` rows of `nbytes` (a multiple of 16) shared-memory bytes each, starting at
// byte `col0` of each global row. row_src(r) gives the global address of row r's element 0,
// or nullptr for a row that does not exist (zero-filled). Bytes past the embedding's end
// are zero-filled. Asynchronous (cp.async) when the source has the shared type and is
// aligned; otherwise element by element with conversion. Unit u of the block goes to row
// u / upr: the quotient is advanced incrementally (no division per unit).
template <Elem E, int T, class RowSrc>
__device__ __forceinline__ void copy_rows(unsigned char* dst0, int pitch, int rows, int nbytes,
                                          int col0, const SeqView& s, RowSrc row_src) {
  const int tid = threadIdx.x;
  const int row_bytes = int(s.dim) * s.elem_bytes;
  const uint32_t dst_base = ptx::smem_addr(dst0);
  const bool async = s.elem == E && s.copy_bytes >= 4;
  const int w = async ? s.copy_bytes : 16;  // bytes per unit
  const int upr = nbytes / w;
  const int total = rows * upr;
  const int dr = T / upr, dofs = T - dr * upr;
  int r = tid / upr, o = tid - r * upr;
  for (int u = tid; u < total; u += T) {
    const unsigned char* src = row_src(r);
    const int at = o * w;
    const uint32_t dst = dst_base + uint32_t(r * pitch + at);
    if (async) {
      int valid = src ? row_bytes - col0 - at : 0;
      valid = valid < 0 ? 0 : (valid > w ? w : valid);
      const unsigned char* sp = valid > 0 ? src + col0 + at : s.data;
      if (w == 16) {
        ptx::cp_async<16>(dst, sp, valid);
      } else if (w == 8) {
        ptx::cp_async<8>(dst, sp, valid);
      } else {
        ptx::cp_async<4>(dst, sp, valid);
      }
    } else {
      constexpr int per = 16 / ElemOps<E>::bytes;  // elements per 16-byte unit
      const int k0 = (col0 + at) / ElemOps<E>::bytes;
      float x[per];
#pragma unroll
      for (int e = 0; e < per; ++e) {
        const int k = k0 + e;
        x[e] = (src && k < s.dim) ? to_float(src + int64_t(k) * s.elem_bytes, s.elem) : 0.f;
      }
      uint32_t v[4];
      if constexpr (E == Elem::f32) {
#pragma unroll
        for (int e = 0; e < 4; ++e) v[e] = __float_as_uint(x[e]);
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) v[e] = ElemOps<E>::pack2(x[2 * e], x[2 * e + 1]);
      }
      ptx::st_shared_v4(dst, v[0], v[1], v[2], v[3]);
    }
    o += dofs;
    r += dr;
    if (o >= upr) {
      o -= upr;
      ++r;
    }
  }
}

template <Elem E, int WM, int WN, int MT, int NT>
__global__ void __launch_bounds__(32 * WM * WN) tile_kernel(const TileParams p) {
  constexpr int T = 32 * WM * WN;
  constexpr int M = WM * MT * 16;
  constexpr int BN = WN * NT * 8;
  constexpr int EB = ElemOps<E>::bytes;
  constexpr int TPT = T / BN;  // threads per document token in the norm pass
  static_assert(M <= T, "one thread per query row");
  static_assert(T % BN == 0 && (TPT == 1 || TPT == 2 || TPT == 4), "norm pass layout");
  static_assert(NT % 2 == 0, "B fragments are loaded two n-tiles at a time");

  extern __shared__ __align__(16) unsigned char smem[];
  const ProblemView& v = p.v;
  const int tid = threadIdx.x;
  const int lane = tid & 31, warp = tid >> 5;
  const int wm = warp / WN, wn = warp % WN;
  const int g = lane >> 2, t4 = lane & 3;

  unsigned char* const q_smem = smem + p.smem.q;
  unsigned char* const d_smem = smem + p.smem.d;
  uint8_t* const colflag = reinterpret_cast<uint8_t*>(smem + p.smem.colflag);
  float* const colscale = reinterpret_cast<float*>(smem + p.smem.colscale);
  PairDesc* const descs = reinterpret_cast<PairDesc*>(smem + p.smem.desc);
  int32_t* const prefix = reinterpret_cast<int32_t*>(smem + p.smem.prefix);
  float* const red = reinterpret_cast<float*>(smem + p.smem.red);
  float* const rowval = reinterpret_cast<float*>(smem + p.smem.rowval);
  float* const partial = reinterpret_cast<float*>(smem + p.smem.partial);

  const int S = p.stages, QS = p.qslots;
  const int kbytes = p.kp * EB;  // padded row bytes
  const int qpitch = kbytes + 16;
  const int cbytes = int(tile_chunk_bytes(p.kp, EB));  // bytes per k-chunk
  const int dpitch = cbytes + 16;
  const int nkc = (kbytes + cbytes - 1) / cbytes;
  const int lq = int(v.q.length);  // padded queries: tokens per query (checked < 2^31)

  // This block's pairs.
  const int64_t pb = int64_t(blockIdx.x) * p.pairs / gridDim.x;
  const int64_t pe = int64_t(blockIdx.x + 1) * p.pairs / gridDim.x;

  float acc[MT][NT][4];
  float runmax[MT][4];
#pragma unroll
  for (int a = 0; a < MT; ++a)
#pragma unroll
    for (int e = 0; e < 4; ++e) runmax[a][e] = -INFINITY;

  // Per-row query state, owned by thread `tid` for row `tid` of the current chunk.
  bool qrow_in = false;
  uint64_t qrow_mask_bits = 1;
  float qrow_inv = 1.f;
  // Per-token partial sum of squares (normalisation), thread's token tid / TPT.
  float dn2 = 0.f;

  // Column flags of the last stage issued. The mask element is loaded when the stage is
  // issued and written to shared memory at the next iteration, so that its latency overlaps
  // the tensor-core work instead of stalling the issuing threads.
  int pend_slot = -1;
  uint64_t pend_bits = 0;
  uint8_t pend_code = kColOut;  // kColValid / kColOut, or kColMasked meaning "test the bits"

  Cursor prod, cons;

  auto write_pending = [&]() {
    if (pend_slot >= 0) {
      uint8_t code = pend_code;
      if (code == kColMasked) code = mask_bits_valid(v.d.mask, pend_bits) ? kColValid : kColMasked;
      colflag[pend_slot * BN + tid] = code;
      pend_slot = -1;
    }
  };

  // Query row r of chunk c of pair desc: its global element offsets (token and mask), or
  // false when the row does not exist.
  auto q_row = [&](const PairDesc& d, int c, int r, int64_t& tok, int64_t& msk) -> bool {
    const int gr = c * M + r;
    if (gr >= d.nrows) return false;
    if (v.q.cu == nullptr) {
      const int s = gr / lq, t = gr - s * lq;
      tok = d.qtok + s * v.q.outer_stride + int64_t(t) * v.q.token_stride;
      msk = d.qmask + s * v.q.mask.outer_stride + int64_t(t) * v.q.mask.token_stride;
    } else {
      tok = d.qtok + int64_t(gr) * v.q.token_stride;
      msk = d.qmask + int64_t(gr) * v.q.mask.token_stride;
    }
    return true;
  };

  // Issues the copies of the producer's current stage into stage slot `slot`.
  auto issue = [&](int slot) {
    const PairDesc& d = descs[prod.i];
    if (prod.newq) {
      const int c = prod.c;
      unsigned char* dst = q_smem + (prod.qseq % QS) * M * qpitch;
      copy_rows<E, T>(dst, qpitch, M, kbytes, 0, v.q, [&](int r) -> const unsigned char* {
        int64_t tok, msk;
        return q_row(d, c, r, tok, msk) ? v.q.data + tok * v.q.elem_bytes : nullptr;
      });
    }
    const int col0 = prod.kc * cbytes;
    const int cb = min(cbytes, kbytes - col0);
    const int tile0 = prod.t * BN;
    const unsigned char* dbase = v.d.data + d.dtok * v.d.elem_bytes;
    const int64_t dstride = v.d.token_stride * v.d.elem_bytes;
    copy_rows<E, T>(d_smem + slot * BN * dpitch, dpitch, BN, cb, col0, v.d,
                    [&](int r) -> const unsigned char* {
                      const int tt = tile0 + r;
                      return tt < d.dlen ? dbase + tt * dstride : nullptr;
                    });
    if (prod.kc == nkc - 1 && tid < BN) {
      const int tt = tile0 + tid;
      pend_slot = slot;
      if (tt >= d.dlen) {
        pend_code = kColOut;
      } else if (v.d.mask.data == nullptr) {
        pend_code = kColValid;
      } else {
        pend_code = kColMasked;
        pend_bits = load_mask_bits(v.d.mask, d.dmask + tt * v.d.mask.token_stride);
      }
    }
    ptx::cp_async_commit();
  };

  // Folds the finished tile in `slot` into the running max.
  auto fold = [&](int slot) {
    const float masked_fill = v.zero_mode ? 0.f : -INFINITY;
#pragma unroll
    for (int nt = 0; nt < NT; ++nt) {
      const int col = wn * NT * 8 + nt * 8 + 2 * t4;
      float fill[2], scale[2];
      bool ok[2];
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const uint8_t f = colflag[slot * BN + col + e];
        ok[e] = f == kColValid;
        fill[e] = f == kColMasked ? masked_fill : -INFINITY;
        scale[e] = v.normalize ? colscale[slot * BN + col + e] : 1.f;
      }
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float s = acc[mt][nt][e] * scale[e & 1];
          runmax[mt][e] = max_nan(runmax[mt][e], ok[e & 1] ? s : fill[e & 1]);
        }
    }
  };

  // The pair's current row chunk is complete: reduce rows, sum per query, write scores.
  auto finish = [&](const PairDesc& d, int i, int c) {
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float m = max_nan(runmax[mt][2 * h], runmax[mt][2 * h + 1]);
        m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 1));
        m = max_nan(m, __shfl_xor_sync(0xffffffffu, m, 2));
        if (t4 == 0) red[wn * M + wm * MT * 16 + mt * 16 + h * 8 + g] = m;
        runmax[mt][2 * h] = runmax[mt][2 * h + 1] = -INFINITY;
      }
    __syncthreads();
    if (tid < M) {
      float m = red[tid];
#pragma unroll
      for (int w = 1; w < WN; ++w) m = max_nan(m, red[w * M + tid]);
      const bool valid = qrow_in && mask_bits_valid(v.q.mask, qrow_mask_bits);
      // No valid document token: the row adds 0 (max over nothing).
      rowval[tid] = valid ? (m == -INFINITY ? 0.f : m * qrow_inv) : 0.f;
    }
    __syncthreads();
    const SlotPair sp{d.nslots,
                      d.nrows,
                      d.nchunks,
                      d.out,
                      d.out_slot_stride,
                      d.bad_slots,
                      p.prefix_len > 0 ? prefix + i * p.prefix_len : nullptr};
    sum_slot_rows(v, sp, rowval, partial, c, M, warp, WM * WN, lane);
  };

  for (int64_t batch = pb; batch < pe; batch += kPairBatch) {
    const int n = int(pe - batch < kPairBatch ? pe - batch : kPairBatch);
    __syncthreads();  // the previous batch's descriptors are no longer read
    if (tid < n) {
      int32_t* pre = p.prefix_len > 0 ? prefix + tid * p.prefix_len : nullptr;
      const PairSeqs ps = resolve_pair(v, batch + tid, p.group, pre);
      PairDesc d;
      d.qtok = ps.qtok;
      d.qmask = ps.qmask;
      d.dtok = ps.dtok;
      d.dmask = ps.dmask;
      d.out = ps.out;
      d.out_slot_stride = ps.out_slot_stride;
      d.q0 = ps.q0;
      d.bad_slots = ps.bad_slots;
      d.nslots = ps.nslots;
      // Lengths beyond int32 cannot be addressed by a block: score NaN rather than wrap.
      const bool huge = ps.nrows > 0x7fffffffLL - M || ps.dlen > 0x7fffffffLL - BN;
      d.nrows = huge ? 0 : int32_t(ps.nrows);
      d.dlen = huge ? 0 : int32_t(ps.dlen);
      if (huge) {
        d.bad_slots = ~0u;
        d.q0 = -1;
      }
      d.nchunks = d.nrows > 0 ? (d.nrows + M - 1) / M : 1;
      d.ntiles = d.dlen > 0 ? (d.dlen + BN - 1) / BN : 1;
      descs[tid] = d;
    }
    __syncthreads();

    cursor_begin(prod, descs);
    cursor_begin(cons, descs);
    pend_slot = -1;
    bool prod_done = false;
    int issued = 0, consumed = 0;
    // At most stages-1 stages ahead of the consumer, and never into a query slot that the
    // consumer still reads.
    auto can_issue = [&]() {
      return !prod_done && issued < consumed + S - 1 && (!prod.newq || prod.qseq - cons.qseq < QS);
    };

    for (;;) {
      write_pending();
      // One issue site: each iteration issues at most one stage; while the pipeline is not
      // full (start of a batch, after a query-slot stall) it loops back to issue more before
      // consuming.
      if (can_issue()) {
        issue(issued % S);
        ++issued;
        prod_done = !cursor_step(prod, descs, nkc, n);
        if (can_issue()) continue;
      }
      if (consumed == issued) break;
      if (pend_slot == consumed % S) write_pending();  // issued just now, consumed next
      ptx::cp_async_wait(issued - consumed - 1);
      __syncthreads();

      // ---- consume stage `consumed` ----
      const int slot = consumed % S;
      const PairDesc& d = descs[cons.i];
      const unsigned char* qs = q_smem + (cons.qseq % QS) * M * qpitch;
      if (cons.newq && tid < M) {
        int64_t tok = 0, msk = 0;
        qrow_in = q_row(d, cons.c, tid, tok, msk);
        qrow_mask_bits = 1;
        if (qrow_in && v.q.mask.data != nullptr) qrow_mask_bits = load_mask_bits(v.q.mask, msk);
        qrow_inv = 1.f;
        if (v.normalize) {
          float s2 = 0.f;
          for (int o = 0; o < kbytes; o += 16) s2 += sumsq16<E>(qs + tid * qpitch + o);
          qrow_inv = inv_norm_from_sumsq(s2);
        }
      }
      if (cons.kc == 0) {
#pragma unroll
        for (int a = 0; a < MT; ++a)
#pragma unroll
          for (int b = 0; b < NT; ++b)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[a][b][e] = 0.f;
      }
      const int col0 = cons.kc * cbytes;
      const int cb = min(cbytes, kbytes - col0);
      const unsigned char* ds = d_smem + slot * BN * dpitch;
      {
        const uint32_t a_base =
            ptx::smem_addr(qs) +
            uint32_t((wm * MT * 16 + (lane & 15)) * qpitch + (lane >> 4) * 16 + col0);
        const uint32_t b_base =
            ptx::smem_addr(ds) + uint32_t((wn * NT * 8 + (lane & 7) + (lane >> 4) * 8) * dpitch +
                                          ((lane >> 3) & 1) * 16);
        const int nks = cb / 32;
#pragma unroll
        for (int ks = 0; ks < kMaxChunkBytes / 32; ++ks) {
          if (ks < nks) {
            uint32_t a[MT][4], b[NT][2];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt)
              ptx::ldmatrix_x4(a[mt], a_base + uint32_t(mt * 16 * qpitch + ks * 32));
#pragma unroll
            for (int np = 0; np < NT / 2; ++np) {
              uint32_t r[4];
              ptx::ldmatrix_x4(r, b_base + uint32_t(np * 16 * dpitch + ks * 32));
              b[2 * np][0] = r[0];
              b[2 * np][1] = r[1];
              b[2 * np + 1][0] = r[2];
              b[2 * np + 1][1] = r[3];
            }
            if constexpr (E == Elem::bf16) {
#pragma unroll
              for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) ptx::mma_bf16(acc[mt][nt], a[mt], b[nt]);
            } else if constexpr (E == Elem::f16) {
#pragma unroll
              for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                for (int nt = 0; nt < NT; ++nt) ptx::mma_f16(acc[mt][nt], a[mt], b[nt]);
            } else {
              if (p.split) {
                // x = hi + lo with hi, lo tf32: a*b ~ alo*bhi + ahi*blo + ahi*bhi, the small
                // terms first; the dropped alo*blo is ~2^-22 relative.
                uint32_t alo[MT][4], blo[NT][2];
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                  for (int e = 0; e < 4; ++e) {
                    const uint32_t hi = ptx::to_tf32(a[mt][e]);
                    alo[mt][e] = ptx::to_tf32(
                        __float_as_uint(__uint_as_float(a[mt][e]) - __uint_as_float(hi)));
                    a[mt][e] = hi;
                  }
#pragma unroll
                for (int nt = 0; nt < NT; ++nt)
#pragma unroll
                  for (int e = 0; e < 2; ++e) {
                    const uint32_t hi = ptx::to_tf32(b[nt][e]);
                    blo[nt][e] = ptx::to_tf32(
                        __float_as_uint(__uint_as_float(b[nt][e]) - __uint_as_float(hi)));
                    b[nt][e] = hi;
                  }
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                  for (int nt = 0; nt < NT; ++nt) {
                    ptx::mma_tf32(acc[mt][nt], alo[mt], b[nt]);
                    ptx::mma_tf32(acc[mt][nt], a[mt], blo[nt]);
                    ptx::mma_tf32(acc[mt][nt], a[mt], b[nt]);
                  }
              } else {
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                  for (int e = 0; e < 4; ++e) a[mt][e] = ptx::to_tf32(a[mt][e]);
#pragma unroll
                for (int nt = 0; nt < NT; ++nt)
#pragma unroll
                  for (int e = 0; e < 2; ++e) b[nt][e] = ptx::to_tf32(b[nt][e]);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt)
#pragma unroll
                  for (int nt = 0; nt < NT; ++nt) ptx::mma_tf32(acc[mt][nt], a[mt], b[nt]);
              }
            }
          }
        }
      }
      if (v.normalize) {
        // Partial |d|^2 of this k-chunk for token tid / TPT.
        if (cons.kc == 0) dn2 = 0.f;
        const int part = tid % TPT;
        const unsigned char* row = ds + (tid / TPT) * dpitch;
        for (int o = part * 16; o < cb; o += 16 * TPT) dn2 += sumsq16<E>(row + o);
      }
      if (cons.kc == nkc - 1) {
        if (v.normalize) {
          float s2 = dn2;
#pragma unroll
          for (int o = 1; o < TPT; o *= 2) s2 += __shfl_xor_sync(0xffffffffu, s2, o);
          if (tid % TPT == 0) colscale[slot * BN + tid / TPT] = inv_norm_from_sumsq(s2);
          __syncthreads();
        }
        fold(slot);
        if (cons.t == d.ntiles - 1) finish(d, cons.i, cons.c);
      }
      __syncthreads();  // everyone is done with this slot before it is refilled
      ++consumed;
      cursor_step(cons, descs, nkc, n);
    }
  }
}

}  // namespace colmax::cuda::tile
