#include <mma.h>

#include <algorithm>
#include <climits>
#include <cmath>

#include "cuda/backward/device.cuh"
#include "cuda/backward/forward.cuh"

namespace colmax::detail::cuda_train {
namespace {

constexpr int kSLd = kCols + 4;  // leading dimension of the similarity tile (floats)
constexpr int kKc = 32;          // k chunk of the FMA engine

// Per-block bookkeeping in static shared memory.
struct Shared {
  float row_scale[kRows];
  int row_active[kRows];
  int64_t row_off[kRows];  // element offset of each active row's query token
  int col_ok[kCols];
  float col_scale[kCols];
  int64_t col_off[kCols];
  float terms[kRows];
  int first_masked;
};

// ---- engines: the 128 x 64 similarity tile into shared memory -------------------------------

template <class T>
struct TensorEngine {
  static constexpr int pad = 8;
  static size_t smem(int64_t dim) {
    const size_t ld = size_t(dim + pad);
    return (kRows + kCols) * ld * sizeof(T) + size_t(kRows) * kSLd * sizeof(float);
  }
  T* qs;
  T* ds;
  float* ss;
  int64_t ld;

  __device__ TensorEngine(unsigned char* smem_base, int64_t dim) {
    ld = dim + pad;
    qs = reinterpret_cast<T*>(smem_base);
    ds = qs + kRows * ld;
    ss = reinterpret_cast<float*>(ds + kCols * ld);
  }

  // Copies 8 elements (16 bytes) of a token row, or zeros.
  __device__ static void copy8(T* dst, const T* src, bool ok, bool aligned) {
    uint4 v = make_uint4(0, 0, 0, 0);
    if (ok) {
      if (aligned) {
        v = *reinterpret_cast<const uint4*>(src);
      } else {
        const unsigned short* s16 = reinterpret_cast<const unsigned short*>(src);
        v.x = unsigned(s16[0]) | (unsigned(s16[1]) << 16);
        v.y = unsigned(s16[2]) | (unsigned(s16[3]) << 16);
        v.z = unsigned(s16[4]) | (unsigned(s16[5]) << 16);
        v.w = unsigned(s16[6]) | (unsigned(s16[7]) << 16);
      }
    }
    *reinterpret_cast<uint4*>(dst) = v;
  }

  __device__ void load_queries(const ForwardParams& p, const Shared& sh) {
    const int64_t per_row = p.q.dim / 8;
    const T* q = reinterpret_cast<const T*>(p.q.data);
    for (int64_t i = threadIdx.x; i < kRows * per_row; i += kThreads) {
      const int r = int(i / per_row);
      const int64_t c = (i % per_row) * 8;
      copy8(qs + r * ld + c, q + sh.row_off[r] + c, sh.row_active[r] != 0, p.aligned16 != 0);
    }
  }

  __device__ void tile(const ForwardParams& p, const Shared& sh, int used_rows) {
    const int64_t per_row = p.d.dim / 8;
    const T* d = reinterpret_cast<const T*>(p.d.data);
    for (int64_t i = threadIdx.x; i < kCols * per_row; i += kThreads) {
      const int c = int(i / per_row);
      const int64_t k = (i % per_row) * 8;
      copy8(ds + c * ld + k, d + sh.col_off[c] + k, sh.col_ok[c] != 0, p.aligned16 != 0);
    }
    __syncthreads();
    using namespace nvcuda;
    const int warp = int(threadIdx.x / 32);
    if (16 * warp < used_rows) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> a;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> b;
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[kCols / 16];
      for (int j = 0; j < kCols / 16; ++j) wmma::fill_fragment(acc[j], 0.0f);
      for (int64_t k = 0; k < p.q.dim; k += 16) {
        wmma::load_matrix_sync(a, qs + 16 * warp * ld + k, unsigned(ld));
        for (int j = 0; j < kCols / 16; ++j) {
          wmma::load_matrix_sync(b, ds + 16 * j * ld + k, unsigned(ld));
          wmma::mma_sync(acc[j], a, b, acc[j]);
        }
      }
      for (int j = 0; j < kCols / 16; ++j) {
        wmma::store_matrix_sync(ss + 16 * warp * kSLd + 16 * j, acc[j], kSLd, wmma::mem_row_major);
      }
    }
    __syncthreads();
  }
};

// fp32 (and mixed-dtype) inputs: a register-tiled FMA product, 4 rows x 8 columns a thread,
// k in chunks of 32 through shared memory (transposed, so that reads are float4s).
struct FmaEngine {
  static size_t smem(int64_t) {
    return size_t(kKc) * (kRows + 4) * 4 + size_t(kKc) * (kCols + 4) * 4 + size_t(kRows) * kSLd * 4;
  }
  float* qt;  // [kKc][kRows + 4]
  float* dt;  // [kKc][kCols + 4]
  float* ss;

  __device__ FmaEngine(unsigned char* smem_base, int64_t) {
    qt = reinterpret_cast<float*>(smem_base);
    dt = qt + kKc * (kRows + 4);
    ss = dt + kKc * (kCols + 4);
  }

  __device__ void load_queries(const ForwardParams&, const Shared&) {}

  __device__ void tile(const ForwardParams& p, const Shared& sh, int used_rows) {
    const int rg = int(threadIdx.x / 8), cg = int(threadIdx.x % 8);
    float acc[4][8];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;
    const int64_t dim = p.q.dim;
    for (int64_t k0 = 0; k0 < dim; k0 += kKc) {
      for (int i = int(threadIdx.x); i < kRows * kKc; i += kThreads) {
        const int r = i / kKc, kk = i % kKc;
        const int64_t k = k0 + kk;
        float v = 0.0f;
        if (r < used_rows && sh.row_active[r] && k < dim)
          v = load_float(p.q.data, p.q.dtype, sh.row_off[r] + k);
        qt[kk * (kRows + 4) + r] = v;
      }
      for (int i = int(threadIdx.x); i < kCols * kKc; i += kThreads) {
        const int c = i / kKc, kk = i % kKc;
        const int64_t k = k0 + kk;
        float v = 0.0f;
        if (sh.col_ok[c] && k < dim) v = load_float(p.d.data, p.d.dtype, sh.col_off[c] + k);
        dt[kk * (kCols + 4) + c] = v;
      }
      __syncthreads();
      for (int kk = 0; kk < kKc; ++kk) {
        const float4 a = *reinterpret_cast<const float4*>(qt + kk * (kRows + 4) + rg * 4);
        const float4 b0 = *reinterpret_cast<const float4*>(dt + kk * (kCols + 4) + cg * 8);
        const float4 b1 = *reinterpret_cast<const float4*>(dt + kk * (kCols + 4) + cg * 8 + 4);
        const float av[4] = {a.x, a.y, a.z, a.w};
        const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
      __syncthreads();
    }
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 8; ++j) ss[(rg * 4 + i) * kSLd + cg * 8 + j] = acc[i][j];
    __syncthreads();
  }
};

// Row r of a block: query slot g = r / R, token t = chunk * kRows + r % R.
struct RowMap {
  int64_t q0;
  int chunk;
  bool cross;
  __device__ void at(const ForwardParams& p, int r, int& g, int64_t& qi, int64_t& t) const {
    g = r / p.rows_per_query;
    t = int64_t(chunk) * kRows + r % p.rows_per_query;
    qi = cross ? q0 + g : q0;
  }
};

template <class E>
__global__ void __launch_bounds__(kThreads) forward_kernel(ForwardParams p) {
  extern __shared__ __align__(128) unsigned char smem[];
  __shared__ Shared sh;
  const int tid = int(threadIdx.x);
  const int64_t b = blockIdx.x;
  const bool cross = p.pairs.pairing == kCross;
  const int64_t nq = p.q.count, W = p.winners.width;
  RowMap map{0, 0, cross};
  int64_t d_begin = 0, d_end = 0, single_o = 0;
  if (cross) {
    const int64_t per_run = p.query_groups * p.chunks;
    map.chunk = int((b % per_run) % p.chunks);
    map.q0 = ((b % per_run) / p.chunks) * p.slots;
    d_begin = (b / per_run) * p.docs_per_block;
    d_end = imin(d_begin + int64_t(p.docs_per_block), p.d.count);
  } else {
    single_o = b / p.chunks;
    map.chunk = int(b % p.chunks);
    int64_t qi = 0, di = 0;
    if (!pair_at(p.pairs, single_o, nq, p.d.count, qi, di)) {
      // A pair index out of range: NaN score, no winners.
      for (int64_t t = int64_t(map.chunk) * kRows + tid;
           t < imin(W, int64_t(map.chunk + 1) * kRows); t += kThreads) {
        set_winner(p.winners, single_o, t, -1);
      }
      if (tid == 0) {
        const float nan = __int_as_float(0x7fc00000);
        if (p.chunks == 1)
          *score_at(p.out, single_o) = nan;
        else
          p.partial[single_o * p.chunks + map.chunk] = nan;
      }
      return;
    }
    map.q0 = qi;
    d_begin = di;
    d_end = di + 1;
  }
  const int used_rows = p.slots * p.rows_per_query;
  for (int r = tid; r < kRows; r += kThreads) {
    int g;
    int64_t qi, t;
    map.at(p, r, g, qi, t);
    const bool active =
        r < used_rows && qi < nq && t < W && t < seq_len(p.q, qi) && valid(p.q, qi, t);
    sh.row_active[r] = active;
    sh.row_off[r] = active ? token_offset(p.q, qi, t) : 0;
    sh.row_scale[r] = active ? (p.inv_q ? p.inv_q[seq_row(p.q, qi) + t] : 1.0f) : 0.0f;
  }
  __syncthreads();
  E engine(smem, p.q.dim);
  engine.load_queries(p, sh);

  const int row = tid >> 1, half = tid & 1;
  for (int64_t di = d_begin; di < d_end; ++di) {
    const int64_t ld = seq_len(p.d, di);
    if (tid == 0) sh.first_masked = INT_MAX;
    float best = -INFINITY;
    int arg = -1;
    for (int64_t t0 = 0; t0 < ld; t0 += kCols) {
      __syncthreads();  // the previous tile is no longer read
      if (tid < kCols) {
        const int64_t s = t0 + tid;
        bool ok = false;
        float scale = 0.0f;
        if (s < ld) {
          ok = valid(p.d, di, s);
          if (ok) {
            scale = p.inv_d ? p.inv_d[seq_row(p.d, di) + s] : 1.0f;
          } else {
            atomicMin(&sh.first_masked, int(s));
          }
        }
        sh.col_ok[tid] = ok;
        sh.col_scale[tid] = scale;
        sh.col_off[tid] = ok ? token_offset(p.d, di, s) : 0;
      }
      __syncthreads();
      engine.tile(p, sh, used_rows);
      const float rs = sh.row_scale[row];
      // The two threads of a row take the even and the odd columns (neighbouring words, so
      // no bank conflict between them); each sees its positions in increasing order.
      const float* srow = engine.ss + row * kSLd;
      for (int c = half; c < kCols; c += 2) {
        if (sh.col_ok[c]) winner_fold(best, arg, srow[c] * rs * sh.col_scale[c], int(t0 + c));
      }
    }
    const float other_best = __shfl_xor_sync(0xffffffffu, best, 1);
    const int other_arg = __shfl_xor_sync(0xffffffffu, arg, 1);
    winner_merge(best, arg, other_best, other_arg);
    __syncthreads();  // first_masked is final
    if (half == 0) {
      int g;
      int64_t qi, t;
      map.at(p, row, g, qi, t);
      float term = 0.0f;
      if (row < used_rows && qi < nq && t < W) {
        const int64_t o = cross ? qi * p.pairs.out_cols + di : single_o;
        int w = -1;
        if (sh.row_active[row] && arg >= 0) {
          w = arg;
          term = best;
          const int fm = sh.first_masked;
          if (p.zero_mode && fm != INT_MAX && !isnan(term) &&
              (term < 0.0f || (term == 0.0f && fm < w))) {
            w = -1;
            term = 0.0f;
          }
        }
        set_winner(p.winners, o, t, w);
      }
      sh.terms[row] = term;
    }
    __syncthreads();
    if (tid < p.slots) {
      const int64_t qi = cross ? map.q0 + tid : map.q0;
      if (qi < nq) {
        const int64_t o = cross ? qi * p.pairs.out_cols + di : single_o;
        float sum = 0.0f;
        for (int r = tid * p.rows_per_query; r < (tid + 1) * p.rows_per_query; ++r)
          sum += sh.terms[r];
        // A query longer than the winners' width, or a document longer than int16 holds,
        // cannot be represented: say so with NaN rather than a wrong score.
        if (seq_len(p.q, qi) > W || (p.winners.is16 && ld > 32768))
          sum = __int_as_float(0x7fc00000);
        if (p.chunks == 1) {
          *(cross ? score_rc(p.out, qi, di) : score_at(p.out, o)) = sum;
        } else {
          p.partial[o * p.chunks + map.chunk] = sum;
        }
      }
    }
  }
}

__global__ void sum_partials(ForwardParams p, int64_t outputs) {
  const int64_t o = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (o >= outputs) return;
  float sum = 0.0f;
  for (int c = 0; c < p.chunks; ++c) sum += p.partial[o * p.chunks + c];
  *score_at(p.out, o) = sum;
}

template <class E>
void launch_with(const ForwardParams& p, cudaStream_t stream) {
  const size_t bytes = E::smem(p.q.dim);
  if (bytes > 48 * 1024) {
    cudaFuncSetAttribute(forward_kernel<E>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                         int(bytes));
  }
  forward_kernel<E><<<unsigned(p.blocks), kThreads, bytes, stream>>>(p);
}

}  // namespace

size_t forward_smem_bytes(Engine engine, int64_t dim) {
  switch (engine) {
    case Engine::tensor_bf16:
      return TensorEngine<__nv_bfloat16>::smem(dim);
    case Engine::tensor_f16:
      return TensorEngine<__half>::smem(dim);
    default:
      return FmaEngine::smem(dim);
  }
}

void launch_forward(ForwardParams p, Engine engine, int sm_count, cudaStream_t stream) {
  const int64_t outputs = p.pairs.out_rows * p.pairs.out_cols;
  if (outputs == 0) return;
  // Block decomposition: a query's rows rounded up to 16 (the tensor-core tile), several
  // queries a block in the cross product, row chunks of kRows for longer queries.
  const int64_t W = p.winners.width;
  const int64_t r16 = (std::max<int64_t>(W, 1) + 15) / 16 * 16;
  const bool cross = p.pairs.pairing == kCross;
  if (r16 <= kRows) {
    p.rows_per_query = int(r16);
    p.chunks = 1;
    p.slots = cross ? int(kRows / r16) : 1;
  } else {
    p.rows_per_query = kRows;
    p.chunks = int((W + kRows - 1) / kRows);
    p.slots = 1;
  }
  if (cross) {
    p.query_groups = (p.q.count + p.slots - 1) / p.slots;
    // Walk several documents with the same resident queries when there is work enough for
    // a few waves of two blocks per multiprocessor.
    const int64_t items = p.d.count * p.query_groups * p.chunks;
    const int64_t waves = std::max<int64_t>(1, int64_t(sm_count) * 2 * 4);
    p.docs_per_block = int(std::clamp<int64_t>(items / waves, 1, 8));
    p.blocks = (p.d.count + p.docs_per_block - 1) / p.docs_per_block * p.query_groups * p.chunks;
  } else {
    p.blocks = outputs * p.chunks;
  }
  switch (engine) {
    case Engine::tensor_bf16:
      launch_with<TensorEngine<__nv_bfloat16>>(p, stream);
      break;
    case Engine::tensor_f16:
      launch_with<TensorEngine<__half>>(p, stream);
      break;
    default:
      launch_with<FmaEngine>(p, stream);
      break;
  }
  if (p.chunks > 1) {
    sum_partials<<<unsigned((outputs + 255) / 256), 256, 0, stream>>>(p, outputs);
  }
}

}  // namespace colmax::detail::cuda_train
