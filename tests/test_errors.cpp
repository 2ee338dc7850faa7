// Every bad input raises colmax::Error naming the argument and what was expected.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "colmax/colmax.hpp"

namespace colmax {
namespace {

// Expects fn() to throw colmax::Error of `kind` whose message contains every fragment.
void expect_error(const std::function<void()>& fn, ErrorKind kind,
                  std::vector<std::string> fragments) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(int(e.kind()), int(kind)) << e.what();
    for (const auto& f : fragments) {
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos)
          << "message \"" << e.what() << "\" lacks \"" << f << "\"";
    }
    return;
  }
  ADD_FAILURE() << "no colmax::Error thrown";
}

struct Buffers {
  std::vector<float> q = std::vector<float>(2 * 3 * 8, 0.5f);
  std::vector<float> d = std::vector<float>(4 * 5 * 8, 0.25f);
  std::vector<float> out = std::vector<float>(64);
  std::vector<int64_t> idx = std::vector<int64_t>(64);
  TensorView Q{q.data(), DType::float32, {2, 3, 8}};
  TensorView D{d.data(), DType::float32, {4, 5, 8}};
  TensorView out24{out.data(), DType::float32, {2, 4}};
};

TEST(Errors, Rank) {
  Buffers b;
  expect_error(
      [&] {
        maxsim(TensorView(b.q.data(), DType::float32, {6, 8}), b.D, b.out24);
      },
      ErrorKind::shape, {"maxsim", "Q", "rank 3", "[6, 8]"});
  expect_error(
      [&] {
        maxsim(b.Q, TensorView(b.d.data(), DType::float32, {20, 8}), b.out24);
      },
      ErrorKind::shape, {"D", "rank 3", "rank 4", "[20, 8]"});
  expect_error([&] { maxsim(TensorView(), b.D, b.out24); }, ErrorKind::value, {"Q", "required"});
}

TEST(Errors, DimMismatchAndZeroDim) {
  Buffers b;
  expect_error(
      [&] {
        maxsim(b.Q, TensorView(b.d.data(), DType::float32, {4, 10, 4}), b.out24);
      },
      ErrorKind::shape, {"D", "embedding dimension 4", "Q's 8"});
  expect_error(
      [&] {
        maxsim(TensorView(b.q.data(), DType::float32, {2, 3, 0}), b.D, b.out24);
      },
      ErrorKind::shape, {"Q", "embedding dimension is 0"});
}

TEST(Errors, Dtype) {
  Buffers b;
  expect_error(
      [&] {
        maxsim(TensorView(b.q.data(), DType::int32, {2, 3, 8}), b.D, b.out24);
      },
      ErrorKind::dtype, {"Q", "float32, float16 or bfloat16", "int32"});
  expect_error(
      [&] {
        maxsim(b.Q, b.D, TensorView(b.out.data(), DType::float16, {2, 4}));
      },
      ErrorKind::dtype, {"out", "float32", "float16"});
  double mask[6] = {};
  expect_error(
      [&] {
        maxsim(b.Q, b.D, b.out24, {TensorView(mask, DType::float64, {2, 3}), {}});
      },
      ErrorKind::dtype, {"q_mask", "float64"});
}

TEST(Errors, NonContiguousLastDimension) {
  Buffers b;
  int64_t shape[3] = {2, 3, 4}, strides[3] = {24, 8, 2};
  expect_error(
      [&] { maxsim(TensorView(b.q.data(), DType::float32, shape, strides), b.D, b.out24); },
      ErrorKind::layout, {"Q", "contiguous", "stride 2"});
}

TEST(Errors, DeviceMismatch) {
  Buffers b;
  TensorView Dgpu(b.d.data(), DType::float32, std::span<const int64_t>(b.D.shape()), {},
                  Device{DeviceKind::cuda, 0});
  expect_error([&] { maxsim(b.Q, Dgpu, b.out24); }, ErrorKind::device, {"D", "cuda:0", "cpu"});
  Options o;
  o.backend = Backend::cuda;
  expect_error([&] { maxsim(b.Q, b.D, b.out24, {}, o); }, ErrorKind::device,
               {"options.backend", "CUDA"});
}

TEST(Errors, OutputAndMaskShapes) {
  Buffers b;
  expect_error(
      [&] {
        maxsim(b.Q, b.D, TensorView(b.out.data(), DType::float32, {4, 2}));
      },
      ErrorKind::shape, {"out", "[2, 4]", "[4, 2]"});
  uint8_t m[64] = {};
  expect_error(
      [&] {
        maxsim(b.Q, b.D, b.out24, {TensorView(m, DType::uint8, {2, 4}), {}});
      },
      ErrorKind::shape, {"q_mask", "[2, 3]"});
  expect_error(
      [&] {
        maxsim(b.Q, b.D, b.out24, {{}, TensorView(m, DType::uint8, {4, 4})});
      },
      ErrorKind::shape, {"d_mask", "[4, 5]"});
  // candidates need D's batch to match Q's
  expect_error(
      [&] {
        maxsim(b.Q, TensorView(b.d.data(), DType::float32, {4, 1, 5, 8}), b.out24);
      },
      ErrorKind::shape, {"D", "Nq = 2"});
  expect_error([&] { maxsim_pairs(b.Q, b.D, TensorView(b.out.data(), DType::float32, {2})); },
               ErrorKind::shape, {"D", "B = 2"});
}

TEST(Errors, CuSeqlens) {
  Buffers b;
  TensorView Qp(b.q.data(), DType::float32, {6, 8}), Dp(b.d.data(), DType::float32, {20, 8});
  TensorView out(b.out.data(), DType::float32, {2, 2});
  int64_t good_q[3] = {0, 3, 6}, cu[3];
  auto call = [&] {
    maxsim_packed(Qp, TensorView(good_q, DType::int64, {3}), Dp, TensorView(cu, DType::int64, {3}),
                  out);
  };
  cu[0] = 1, cu[1] = 2, cu[2] = 3;
  expect_error(call, ErrorKind::value, {"cu_seqlens_d", "start at 0", "got 1"});
  cu[0] = 0, cu[1] = 5, cu[2] = 4;
  expect_error(call, ErrorKind::value, {"cu_seqlens_d", "non-decreasing"});
  cu[0] = 0, cu[1] = 5, cu[2] = 21;
  expect_error(call, ErrorKind::value, {"cu_seqlens_d", "21", "20 tokens"});
  float fcu[3] = {0, 1, 2};
  expect_error(
      [&] {
        maxsim_packed(Qp, TensorView(good_q, DType::int64, {3}), Dp,
                      TensorView(fcu, DType::float32, {3}), out);
      },
      ErrorKind::dtype, {"cu_seqlens_d", "int32 or int64"});
  expect_error(
      [&] {
        maxsim_packed(Qp, TensorView(good_q, DType::int64, {0}), Dp,
                      TensorView(good_q, DType::int64, {3}), out);
      },
      ErrorKind::shape, {"cu_seqlens_q", "at least one"});
}

TEST(Errors, PairIndicesOutOfRange) {
  Buffers b;
  TensorView Qp(b.q.data(), DType::float32, {6, 8}), Dp(b.d.data(), DType::float32, {20, 8});
  int64_t cu_q[3] = {0, 3, 6}, cu_d[4] = {0, 5, 10, 20};
  int32_t pq[2] = {0, 1}, pd[2] = {2, 3};
  expect_error(
      [&] {
        maxsim_packed_pairs(Qp, TensorView(cu_q, DType::int64, {3}), Dp,
                            TensorView(cu_d, DType::int64, {4}), TensorView(pq, DType::int32, {2}),
                            TensorView(pd, DType::int32, {2}),
                            TensorView(b.out.data(), DType::float32, {2}));
      },
      ErrorKind::value, {"pair_d", "entry 1", "3", "[0, 3)"});
  pd[1] = 0;
  pq[0] = -1;
  expect_error(
      [&] {
        maxsim_packed_pairs(Qp, TensorView(cu_q, DType::int64, {3}), Dp,
                            TensorView(cu_d, DType::int64, {4}), TensorView(pq, DType::int32, {2}),
                            TensorView(pd, DType::int32, {2}),
                            TensorView(b.out.data(), DType::float32, {2}));
      },
      ErrorKind::value, {"pair_q", "entry 0", "-1"});
}

TEST(Errors, NegativeK) {
  Buffers b;
  expect_error(
      [&] {
        retrieve(b.Q, b.D, -1, TensorView(b.out.data(), DType::float32, {2, 0}),
                 TensorView(b.idx.data(), DType::int64, {2, 0}));
      },
      ErrorKind::value, {"k", "k >= 0", "-1"});
  expect_error(
      [&] {
        retrieve(b.Q, b.D, 9, TensorView(b.out.data(), DType::float32, {2, 9}),
                 TensorView(b.idx.data(), DType::int64, {2, 9}));
      },
      ErrorKind::shape, {"scores", "[2, 4]"});
}

}  // namespace
}  // namespace colmax
