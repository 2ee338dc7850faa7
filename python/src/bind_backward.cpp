// Bindings of the training API (colmax/backward.hpp): forward with saved winners, and the
// backward, for every layout. Compiled to nothing when the library has no backward.hpp, in
// which case colmax._C has no train_* functions and PyTorch autograd reports it.
#include <nanobind/nanobind.h>

#include "arrays.hpp"
#include "bindings.hpp"

#if __has_include("colmax/backward.hpp")
#include "colmax/backward.hpp"
#define COLMAX_PYTHON_HAS_BACKWARD 1
#endif

namespace colmax::python {

#ifdef COLMAX_PYTHON_HAS_BACKWARD

namespace {

using nb::arg;
using Obj = nb::handle;

// The layouts, in the order of colmax._backward.LAYOUTS.
enum Layout { padded = 0, pairs = 1, packed = 2, packed_pairs = 3 };

struct Inputs {
  TensorView Q, D, cu_q, cu_d, pair_q, pair_d;
  Masks masks;
};

Inputs inputs_of(Views& views, Obj Q, Obj D, Obj cu_q, Obj cu_d, Obj pair_q, Obj pair_d, Obj q_mask,
                 Obj d_mask) {
  return {views.in(Q, "Q"),
          views.in(D, "D"),
          views.in(cu_q, "cu_seqlens_q"),
          views.in(cu_d, "cu_seqlens_d"),
          views.in(pair_q, "pair_q"),
          views.in(pair_d, "pair_d"),
          {views.in(q_mask, "q_mask"), views.in(d_mask, "d_mask")}};
}

void train_forward(int layout, Obj Q, Obj D, Obj cu_q, Obj cu_d, Obj pair_q, Obj pair_d, Obj out,
                   Obj winners, Obj q_mask, Obj d_mask, int mask_mode, bool normalize,
                   int fp32_precision, int backend, int num_threads, std::uintptr_t stream) {
  Options o = make_options(mask_mode, normalize, fp32_precision, backend, num_threads, stream);
  Views views;
  Inputs in = inputs_of(views, Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask);
  TensorView s = views.out(out, "out"), w = views.out(winners, "winners");
  nb::gil_scoped_release release;
  switch (layout) {
    case padded:
      maxsim_forward(in.Q, in.D, s, w, in.masks, o);
      break;
    case pairs:
      maxsim_pairs_forward(in.Q, in.D, s, w, in.masks, o);
      break;
    case packed:
      maxsim_packed_forward(in.Q, in.cu_q, in.D, in.cu_d, s, w, in.masks, o);
      break;
    case packed_pairs:
      maxsim_packed_pairs_forward(in.Q, in.cu_q, in.D, in.cu_d, in.pair_q, in.pair_d, s, w,
                                  in.masks, o);
      break;
    default:
      throw nb::value_error("colmax: invalid layout code");
  }
}

void train_backward(int layout, Obj Q, Obj D, Obj cu_q, Obj cu_d, Obj pair_q, Obj pair_d,
                    Obj grad_out, Obj winners, Obj grad_Q, Obj grad_D, Obj q_mask, Obj d_mask,
                    int mask_mode, bool normalize, int fp32_precision, int backend, int num_threads,
                    int strategy, std::uintptr_t stream) {
  Options o = make_options(mask_mode, normalize, fp32_precision, backend, num_threads, stream);
  if (strategy < 0 || strategy > 2) throw nb::value_error("colmax: invalid backward strategy");
  auto how = BackwardStrategy(strategy);
  Views views;
  Inputs in = inputs_of(views, Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask);
  TensorView g = views.in(grad_out, "grad_out"), w = views.in(winners, "winners"),
             gq = views.out(grad_Q, "grad_Q"), gd = views.out(grad_D, "grad_D");
  nb::gil_scoped_release release;
  switch (layout) {
    case padded:
      maxsim_backward(in.Q, in.D, g, w, gq, gd, in.masks, o, how);
      break;
    case pairs:
      maxsim_pairs_backward(in.Q, in.D, g, w, gq, gd, in.masks, o, how);
      break;
    case packed:
      maxsim_packed_backward(in.Q, in.cu_q, in.D, in.cu_d, g, w, gq, gd, in.masks, o, how);
      break;
    case packed_pairs:
      maxsim_packed_pairs_backward(in.Q, in.cu_q, in.D, in.cu_d, in.pair_q, in.pair_d, g, w, gq, gd,
                                   in.masks, o, how);
      break;
    default:
      throw nb::value_error("colmax: invalid layout code");
  }
}

}  // namespace

void bind_backward(nb::module_& m) {
  m.def("train_forward", &train_forward, arg("layout"), arg("Q"), arg("D"),
        arg("cu_seqlens_q").none(), arg("cu_seqlens_d").none(), arg("pair_q").none(),
        arg("pair_d").none(), arg("out"), arg("winners"), arg("q_mask").none(),
        arg("d_mask").none(), arg("mask_mode"), arg("normalize"), arg("fp32_precision"),
        arg("backend"), arg("num_threads"), arg("stream"),
        "Scores and the winners saved for the backward.");
  m.def("train_backward", &train_backward, arg("layout"), arg("Q"), arg("D"),
        arg("cu_seqlens_q").none(), arg("cu_seqlens_d").none(), arg("pair_q").none(),
        arg("pair_d").none(), arg("grad_out"), arg("winners").none(), arg("grad_Q").none(),
        arg("grad_D").none(), arg("q_mask").none(), arg("d_mask").none(), arg("mask_mode"),
        arg("normalize"), arg("fp32_precision"), arg("backend"), arg("num_threads"),
        arg("strategy"), arg("stream"),
        "grad_Q and grad_D from the gradient of the scores (winners None: recomputed).");
  m.def("winners_dtype_code",
        [](int64_t max_document_length) { return int(winners_dtype(max_document_length)); });
}

#else

void bind_backward(nb::module_&) {}

#endif

}  // namespace colmax::python
