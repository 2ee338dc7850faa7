// The reference itself, on cases small enough to work out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "colmax/colmax.hpp"

namespace colmax {
namespace {

Options reference(MaskMode mode = MaskMode::exclude, bool normalize = false) {
  Options o;
  o.backend = Backend::reference;
  o.mask_mode = mode;
  o.normalize = normalize;
  return o;
}

// Q: one query of two tokens, D: two documents of two tokens, dim 2.
struct Tiny {
  std::vector<float> q = {1, 0, 0, 1};
  std::vector<float> d = {2,  0,  -1, -3,   // doc 0: dots (q0: 2, -1) (q1: 0, -3)
                          -1, -1, -2, -4};  // doc 1: dots (q0: -1, -2) (q1: -1, -4)
  TensorView Q{q.data(), DType::float32, {1, 2, 2}};
  TensorView D{d.data(), DType::float32, {2, 2, 2}};
};

TEST(Reference, HandComputedCrossScores) {
  Tiny t;
  float out[2] = {-7, -7};
  maxsim(t.Q, t.D, TensorView(out, DType::float32, {1, 2}), {}, reference());
  EXPECT_FLOAT_EQ(out[0], 2 + 0);
  EXPECT_FLOAT_EQ(out[1], -1 + -1);
}

TEST(Reference, MaskModesDifferOnNegativeSimilarities) {
  Tiny t;
  uint8_t dmask[4] = {1, 1, 1, 0};  // doc 1 loses its second token
  float out[2];
  maxsim(t.Q, t.D, TensorView(out, DType::float32, {1, 2}),
         {{}, TensorView(dmask, DType::uint8, {2, 2})}, reference(MaskMode::exclude));
  EXPECT_FLOAT_EQ(out[1], -1 + -1);
  // zero mode: the masked token offers similarity 0 to every query token
  maxsim(t.Q, t.D, TensorView(out, DType::float32, {1, 2}),
         {{}, TensorView(dmask, DType::uint8, {2, 2})}, reference(MaskMode::zero));
  EXPECT_FLOAT_EQ(out[0], 2 + 0);
  EXPECT_FLOAT_EQ(out[1], 0 + 0);
}

TEST(Reference, MaskedQueryTokensAddNothing) {
  Tiny t;
  bool qmask[2] = {false, true};
  float out[2];
  maxsim(t.Q, t.D, TensorView(out, DType::float32, {1, 2}),
         {TensorView(qmask, DType::boolean, {1, 2}), {}}, reference());
  EXPECT_FLOAT_EQ(out[0], 0);
  EXPECT_FLOAT_EQ(out[1], -1);
}

TEST(Reference, FullyMaskedAndEmptyDocumentsScoreZero) {
  Tiny t;
  int64_t dmask[4] = {0, 0, 0, 0};
  for (MaskMode mode : {MaskMode::exclude, MaskMode::zero}) {
    float out[2] = {5, 5};
    maxsim(t.Q, t.D, TensorView(out, DType::float32, {1, 2}),
           {{}, TensorView(dmask, DType::int64, {2, 2})}, reference(mode));
    EXPECT_EQ(out[0], 0);
    EXPECT_EQ(out[1], 0);
  }
  float out[2] = {5, 5};
  maxsim(t.Q, TensorView(t.d.data(), DType::float32, {2, 0, 2}),
         TensorView(out, DType::float32, {1, 2}), {}, reference());
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 0);
}

TEST(Reference, NormalizeKeepsZeroVectorsAtZero) {
  std::vector<float> q = {3, 4, 0, 0};  // second token is the zero vector
  std::vector<float> d = {0, 10};
  float out;
  maxsim(TensorView(q.data(), DType::float32, {1, 2, 2}),
         TensorView(d.data(), DType::float32, {1, 1, 2}), TensorView(&out, DType::float32, {1, 1}),
         {}, reference(MaskMode::exclude, true));
  EXPECT_FLOAT_EQ(out, 0.8f + 0.0f);
}

TEST(Reference, NanInAValidTokenReachesTheScore) {
  Tiny t;
  t.d[5] = NAN;  // doc 1, token 0
  float out[2];
  maxsim(t.Q, t.D, TensorView(out, DType::float32, {1, 2}), {}, reference());
  EXPECT_FALSE(std::isnan(out[0]));
  EXPECT_TRUE(std::isnan(out[1]));
}

TEST(Reference, PackedMatchesPadded) {
  Tiny t;
  int32_t cu_q[2] = {0, 2};
  int64_t cu_d[3] = {0, 2, 4};
  float out[2];
  maxsim_packed(TensorView(t.q.data(), DType::float32, {2, 2}), TensorView(cu_q, DType::int32, {2}),
                TensorView(t.d.data(), DType::float32, {4, 2}), TensorView(cu_d, DType::int64, {3}),
                TensorView(out, DType::float32, {1, 2}), {}, reference());
  EXPECT_FLOAT_EQ(out[0], 2);
  EXPECT_FLOAT_EQ(out[1], -2);
}

}  // namespace
}  // namespace colmax
