// Bad arguments to the training calls throw colmax::Error naming the argument.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "support/cases.hpp"

namespace colmax::test {
namespace {

void expect_error(const std::function<void()>& call, ErrorKind kind, const std::string& needle) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one containing \"" << needle << "\"";
  } catch (const Error& e) {
    EXPECT_EQ(int(e.kind()), int(kind)) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

struct Fixture {
  HostTensor Q = make_tensor(DType::float32, {2, 3, 8});
  HostTensor D = make_tensor(DType::float32, {4, 5, 8});
  HostTensor out = make_tensor(DType::float32, {2, 4});
  HostTensor w = make_tensor(DType::int16, {2, 4, 3});
  HostTensor gq = make_tensor(DType::float32, {2, 3, 8});
  HostTensor gd = make_tensor(DType::float32, {4, 5, 8});
};

TEST(BackwardErrors, ForwardArguments) {
  Fixture f;
  auto fwd = [&](const TensorView& w) {
    return [&, w] { maxsim_forward(f.Q.view(), f.D.view(), f.out.view(), w); };
  };
  expect_error(fwd({}), ErrorKind::value, "maxsim_forward: winners: is required");
  HostTensor w_f = make_tensor(DType::float32, {2, 4, 3});
  expect_error(fwd(w_f.view()), ErrorKind::dtype, "winners: expected int16 or int32, got float32");
  HostTensor w_shape = make_tensor(DType::int16, {2, 4, 2});
  expect_error(fwd(w_shape.view()), ErrorKind::shape, "winners: expected shape [2, 4, 3]");
  HostTensor w_rank = make_tensor(DType::int32, {2, 4});
  expect_error(fwd(w_rank.view()), ErrorKind::shape, "winners: expected shape");
  HostTensor w_big = make_tensor(DType::int16, {2, 4, 6});
  const int64_t shape[] = {2, 4, 3}, strides[] = {24, 6, 2};
  expect_error(fwd(TensorView(w_big.bytes.data(), DType::int16, shape, strides)), ErrorKind::layout,
               "winners: must be row-major contiguous");
  // The scores are still called `out` and checked as maxsim() checks them.
  HostTensor bad_out = make_tensor(DType::float32, {4, 2});
  expect_error([&] { maxsim_forward(f.Q.view(), f.D.view(), bad_out.view(), f.w.view()); },
               ErrorKind::shape, "maxsim_forward: out: expected shape [2, 4]");
}

TEST(BackwardErrors, Int16NeedsShortDocuments) {
  HostTensor Q = make_tensor(DType::bfloat16, {1, 1, 1});
  HostTensor D = make_tensor(DType::bfloat16, {1, 32769, 1});
  HostTensor out = make_tensor(DType::float32, {1, 1});
  HostTensor w16 = make_tensor(DType::int16, {1, 1, 1});
  expect_error([&] { maxsim_forward(Q.view(), D.view(), out.view(), w16.view()); },
               ErrorKind::dtype, "int16 holds positions of documents of up to 32,768 tokens");
  EXPECT_EQ(winners_dtype(32768), DType::int16);
  EXPECT_EQ(winners_dtype(32769), DType::int32);
}

TEST(BackwardErrors, BackwardArguments) {
  Fixture f;
  HostTensor g = make_tensor(DType::float32, {2, 4});
  auto bwd = [&](const TensorView& go, const TensorView& w, const TensorView& gq,
                 const TensorView& gd, BackwardStrategy st = BackwardStrategy::automatic) {
    return [=, &f] { maxsim_backward(f.Q.view(), f.D.view(), go, w, gq, gd, {}, {}, st); };
  };
  HostTensor g_bad = make_tensor(DType::float32, {2, 5});
  expect_error(bwd(g_bad.view(), f.w.view(), f.gq.view(), f.gd.view()), ErrorKind::shape,
               "maxsim_backward: grad_out: expected shape [2, 4]");
  HostTensor g_half = make_tensor(DType::float16, {2, 4});
  expect_error(bwd(g_half.view(), f.w.view(), f.gq.view(), f.gd.view()), ErrorKind::dtype,
               "grad_out: expected float32");
  expect_error(bwd(g.view(), f.w.view(), {}, {}), ErrorKind::value,
               "grad_Q and grad_D are both absent");
  HostTensor gq_dtype = make_tensor(DType::bfloat16, {2, 3, 8});
  expect_error(bwd(g.view(), f.w.view(), gq_dtype.view(), {}), ErrorKind::dtype,
               "grad_Q: expected Q's dtype float32, got bfloat16");
  HostTensor gd_shape = make_tensor(DType::float32, {4, 6, 8});
  expect_error(bwd(g.view(), f.w.view(), {}, gd_shape.view()), ErrorKind::shape,
               "grad_D: expected D's shape [4, 5, 8] float32 cpu");
  const int64_t shape[] = {2, 3, 8}, overlap[] = {0, 8, 1}, column[] = {24, 1, 3};
  expect_error(
      bwd(g.view(), f.w.view(), TensorView(f.gq.bytes.data(), DType::float32, shape, overlap), {}),
      ErrorKind::layout, "grad_Q: dimension 0 has stride 0");
  expect_error(
      bwd(g.view(), f.w.view(), TensorView(f.gq.bytes.data(), DType::float32, shape, column), {}),
      ErrorKind::layout, "grad_Q: the last (embedding) dimension must be contiguous");
  expect_error(bwd(g.view(), f.w.view(), f.gq.view(), f.gd.view(), BackwardStrategy(9)),
               ErrorKind::value, "strategy: expected automatic, fast or deterministic");
  // An expanded (stride 0) grad_out is fine, and absent winners mean "recompute".
  const int64_t gshape[] = {2, 4}, gstrides[] = {0, 0};
  float one = 1;
  EXPECT_NO_THROW(
      bwd(TensorView(&one, DType::float32, gshape, gstrides), {}, f.gq.view(), f.gd.view())());
}

TEST(BackwardErrors, WinnersThatDidNotComeFromTheForward) {
  Fixture f;
  HostTensor g = make_tensor(DType::float32, {2, 4});
  HostTensor m = make_tensor(DType::boolean, {4, 5});
  for (int64_t i = 0; i < m.numel(); ++i) set_value(m, i, i % 5 == 4 ? 0 : 1);
  auto bwd = [&] {
    maxsim_backward(f.Q.view(), f.D.view(), g.view(), f.w.view(), f.gq.view(), f.gd.view(),
                    {{}, m.view()});
  };
  set_value(f.w, 5, 5);
  expect_error(bwd, ErrorKind::value, "winners: entry [1, 2] is 5: outside [-1, 5)");
  set_value(f.w, 5, 4);
  expect_error(bwd, ErrorKind::value, "winners: entry [1, 2] is 4: points at a masked");
  set_value(f.w, 5, -3);
  expect_error(bwd, ErrorKind::value, "winners: entry [1, 2] is -3");
  set_value(f.w, 5, 0);
  EXPECT_NO_THROW(bwd());
}

TEST(BackwardErrors, PackedArguments) {
  HostTensor Q = make_tensor(DType::float32, {5, 4});
  HostTensor D = make_tensor(DType::float32, {7, 4});
  HostTensor cu_q = make_tensor(DType::int32, {3});
  HostTensor cu_d = make_tensor(DType::int64, {3});
  set_value(cu_q, 1, 3), set_value(cu_q, 2, 5);
  set_value(cu_d, 1, 2), set_value(cu_d, 2, 7);
  HostTensor out = make_tensor(DType::float32, {2, 2});
  HostTensor w_short = make_tensor(DType::int32, {2, 2, 2});
  expect_error(
      [&] {
        maxsim_packed_forward(Q.view(), cu_q.view(), D.view(), cu_d.view(), out.view(),
                              w_short.view());
      },
      ErrorKind::shape, "winners: the last dimension W = 2 is shorter than the longest query (3");
  HostTensor w = make_tensor(DType::int32, {2, 2, 4});
  EXPECT_NO_THROW(
      maxsim_packed_forward(Q.view(), cu_q.view(), D.view(), cu_d.view(), out.view(), w.view()));
  HostTensor pair = make_tensor(DType::int32, {3});
  HostTensor pout = make_tensor(DType::float32, {3});
  HostTensor pw = make_tensor(DType::int32, {3, 3});
  expect_error(
      [&] {
        maxsim_packed_pairs_forward(Q.view(), cu_q.view(), D.view(), cu_d.view(), {}, pair.view(),
                                    pout.view(), pw.view());
      },
      ErrorKind::value, "maxsim_packed_pairs_forward: pair_q: is required");
  HostTensor gq = make_tensor(DType::float32, {5, 4});
  expect_error(
      [&] {
        maxsim_packed_pairs_backward(Q.view(), cu_q.view(), D.view(), cu_d.view(), pair.view(),
                                     pair.view(), out.view(), pw.view(), gq.view(), {});
      },
      ErrorKind::shape, "maxsim_packed_pairs_backward: grad_out: expected shape [3]");
}

}  // namespace
}  // namespace colmax::test
