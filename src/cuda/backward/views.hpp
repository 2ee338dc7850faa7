// Plain views of a Training for the CUDA training kernels: how tokens, masks, pairs, scores
// and winners are addressed in device memory. Built on the host (views_build.hpp), passed
// to kernels by value, read with the device functions of device.cuh. This header includes
// no colmax header, so that CUDA sources stay independent of the host-side C++ (views.cpp
// checks that the constants below match colmax::DType and detail::Pairing).
#pragma once

#include <cstdint>

namespace colmax::detail::cuda_train {

// colmax::DType values.
constexpr int kF32 = 0, kF16 = 1, kBF16 = 2, kBool = 4, kU8 = 5, kI8 = 6, kI32 = 7, kI64 = 8,
              kI16 = 9;
// detail::Pairing values.
constexpr int kCross = 0, kGrouped = 1, kDiagonal = 2, kList = 3;

// One family of sequences (queries or documents), or a gradient tensor addressed like one.
// Token rows are numbered in a flat space: padded sequence i, token j -> i * length + j;
// packed -> cu[i] + j. `rows` is the size of that space.
struct Seqs {
  const unsigned char* data = nullptr;
  int dtype = 0;  // DType
  int64_t dim = 0, count = 0, token_stride = 0;
  int64_t length = 0, inner = 1, outer_stride = 0, inner_stride = 0;  // padded
  const void* cu = nullptr;                                           // packed, on the device
  int cu64 = 1;
  int64_t total_tokens = 0;
  const unsigned char* mask = nullptr;
  int mask_dtype = 0;
  int64_t mask_token_stride = 0, mask_outer_stride = 0, mask_inner_stride = 0;
  int64_t rows = 0;
};

// Which (query, document) pairs are scored: Pairing as int, the scores' [rows, cols], and
// for pair lists the indices plus the inverse maps built on the device (outputs of query i
// are q_order[q_begin[i] .. q_begin[i + 1]), in increasing order; the same for documents).
struct Pairs {
  int pairing = 0;
  int64_t out_rows = 0, out_cols = 1;
  const void* pair_q = nullptr;
  const void* pair_d = nullptr;
  int pair64 = 1;
  const int64_t* q_begin = nullptr;
  const int64_t* q_order = nullptr;
  const int64_t* d_begin = nullptr;
  const int64_t* d_order = nullptr;
};

// Scores (forward: written) or grad_out (backward: read), float32 with element strides.
struct Scores {
  float* data = nullptr;
  int64_t cols = 1, stride0 = 0, stride1 = 0;
};

struct WinnerView {
  void* data = nullptr;
  int is16 = 0;
  int64_t width = 0;
};

}  // namespace colmax::detail::cuda_train
