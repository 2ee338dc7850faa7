// The device-side view of a detail::Problem: plain structs passed by value to kernels.
//
// Host code fills them (problem_view.cpp); device code reads sequences, masks, offsets and
// pair indices through the helpers in device_access.cuh. Nothing here owns memory.
#pragma once

#include <algorithm>
#include <cstdint>

// CUDA sources never include the public headers (nvcc's front end cannot parse all of
// C++20 in them); the views below are what device code sees of a Problem.
namespace colmax::detail {
struct SeqSet;
struct Problem;
}  // namespace colmax::detail

namespace colmax::cuda {

// Element types as the kernels see them.
enum class Elem : int32_t { f32 = 0, f16 = 1, bf16 = 2 };

// How a mask element is tested for "valid": `bytes` wide, and for floats the sign bit is
// ignored so that -0.0 counts as masked while NaN counts as valid (as on the CPU).
struct MaskView {
  const unsigned char* data = nullptr;  // null: every token valid
  int32_t bytes = 1;
  int32_t is_float = 0;
  int64_t token_stride = 0, outer_stride = 0, inner_stride = 0;  // elements
};

struct SeqView {
  const unsigned char* data = nullptr;
  Elem elem = Elem::f32;
  int32_t elem_bytes = 4;
  int64_t dim = 0;
  int64_t count = 0;
  int64_t token_stride = 0;  // elements
  // padded
  int64_t length = 0, inner = 1, outer_stride = 0, inner_stride = 0;
  // packed: cu has count + 1 entries of int32 or int64 in device memory
  const void* cu = nullptr;
  int32_t cu_is64 = 1;
  int64_t total_tokens = 0;
  MaskView mask;
  // Widest asynchronous copy (16, 8 or 4 bytes) every token row start allows; 0 when rows
  // are only 2-byte aligned and must be copied element by element.
  int32_t copy_bytes = 0;
};

enum class PairingKind : int32_t { cross = 0, grouped = 1, diagonal = 2, list = 3 };

struct ProblemView {
  SeqView q, d;
  PairingKind pairing = PairingKind::cross;
  int64_t group = 0;  // grouped: K
  const void* pair_q = nullptr;
  const void* pair_d = nullptr;
  int32_t pair_is64 = 1;
  int64_t num_pairs = 0;  // list: P
  float* out = nullptr;
  int64_t out_rows = 0, out_cols = 1, out_stride0 = 0, out_stride1 = 0;
  int32_t zero_mode = 0;
  int32_t normalize = 0;
};

SeqView make_seq_view(const detail::SeqSet& s);
ProblemView make_problem_view(const detail::Problem& p);

#if defined(__CUDACC__)
#define COLMAX_HOST_DEVICE __host__ __device__
#else
#define COLMAX_HOST_DEVICE
#endif

// Number of pairs a problem enumerates when `group` queries are stacked per cross pair
// (a pair is a group of queries against one document).
COLMAX_HOST_DEVICE inline int64_t num_pairs(const ProblemView& v, int64_t group) {
  switch (v.pairing) {
    case PairingKind::cross: {
      const int64_t groups = (v.q.count + group - 1) / group;
      return groups * v.d.count;
    }
    case PairingKind::grouped:
      return v.q.count * v.group;
    case PairingKind::diagonal:
      return v.q.count;
    case PairingKind::list:
      return v.num_pairs;
  }
  return 0;
}

}  // namespace colmax::cuda
