// Bindings of the forward layouts and top-k. Each takes its arrays (any DLPack producer, or
// a torch.Tensor), then the options as integer codes (see arrays.hpp); outputs are allocated
// by the caller in its own framework and written in place. The GIL is released while colmax
// runs.
#include <nanobind/nanobind.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "colmax/maxsim.hpp"
#include "colmax/retrieve.hpp"

namespace colmax::python {

namespace {

using nb::arg;

using Obj = nb::handle;

Masks masks_of(Views& views, Obj q_mask, Obj d_mask) {
  return {views.in(q_mask, "q_mask"), views.in(d_mask, "d_mask")};
}

// The trailing option arguments shared by every binding.
#define COLMAX_OPTION_PARAMS                                                       \
  int mask_mode, bool normalize, int fp32_precision, int backend, int num_threads, \
      std::uintptr_t stream
#define COLMAX_OPTION_ARGS mask_mode, normalize, fp32_precision, backend, num_threads, stream
#define COLMAX_OPTION_NAMES                                                                      \
  arg("mask_mode"), arg("normalize"), arg("fp32_precision"), arg("backend"), arg("num_threads"), \
      arg("stream")

void bind_maxsim(Obj Q, Obj D, Obj out, Obj q_mask, Obj d_mask, COLMAX_OPTION_PARAMS) {
  Options options = make_options(COLMAX_OPTION_ARGS);
  Views views;
  TensorView q = views.in(Q, "Q"), d = views.in(D, "D"), o = views.out(out, "out");
  Masks masks = masks_of(views, q_mask, d_mask);
  nb::gil_scoped_release release;
  maxsim(q, d, o, masks, options);
}

void bind_maxsim_pairs(Obj Q, Obj D, Obj out, Obj q_mask, Obj d_mask, COLMAX_OPTION_PARAMS) {
  Options options = make_options(COLMAX_OPTION_ARGS);
  Views views;
  TensorView q = views.in(Q, "Q"), d = views.in(D, "D"), o = views.out(out, "out");
  Masks masks = masks_of(views, q_mask, d_mask);
  nb::gil_scoped_release release;
  maxsim_pairs(q, d, o, masks, options);
}

void bind_maxsim_packed(Obj Q, Obj cu_q, Obj D, Obj cu_d, Obj out, Obj q_mask, Obj d_mask,
                        COLMAX_OPTION_PARAMS) {
  Options options = make_options(COLMAX_OPTION_ARGS);
  Views views;
  TensorView q = views.in(Q, "Q"), cq = views.in(cu_q, "cu_seqlens_q"), d = views.in(D, "D"),
             cd = views.in(cu_d, "cu_seqlens_d"), o = views.out(out, "out");
  Masks masks = masks_of(views, q_mask, d_mask);
  nb::gil_scoped_release release;
  maxsim_packed(q, cq, d, cd, o, masks, options);
}

void bind_maxsim_packed_pairs(Obj Q, Obj cu_q, Obj D, Obj cu_d, Obj pair_q, Obj pair_d, Obj out,
                              Obj q_mask, Obj d_mask, COLMAX_OPTION_PARAMS) {
  Options options = make_options(COLMAX_OPTION_ARGS);
  Views views;
  TensorView q = views.in(Q, "Q"), cq = views.in(cu_q, "cu_seqlens_q"), d = views.in(D, "D"),
             cd = views.in(cu_d, "cu_seqlens_d"), pq = views.in(pair_q, "pair_q"),
             pd = views.in(pair_d, "pair_d"), o = views.out(out, "out");
  Masks masks = masks_of(views, q_mask, d_mask);
  nb::gil_scoped_release release;
  maxsim_packed_pairs(q, cq, d, cd, pq, pd, o, masks, options);
}

void bind_retrieve(Obj Q, Obj D, Obj cu_d, int64_t k, Obj scores, Obj indices, Obj q_mask,
                   Obj d_mask, COLMAX_OPTION_PARAMS) {
  Options options = make_options(COLMAX_OPTION_ARGS);
  Views views;
  TensorView q = views.in(Q, "Q"), d = views.in(D, "D"), cd = views.in(cu_d, "cu_seqlens_d"),
             s = views.out(scores, "scores"), i = views.out(indices, "indices");
  Masks masks = masks_of(views, q_mask, d_mask);
  nb::gil_scoped_release release;
  if (cd.present()) {
    retrieve_packed(q, d, cd, k, s, i, masks, options);
  } else {
    retrieve(q, d, k, s, i, masks, options);
  }
}

}  // namespace

void bind_forward(nb::module_& m) {
  // Every array argument may be None only where the C++ API takes an absent view.
  m.def("maxsim", &bind_maxsim, arg("Q"), arg("D"), arg("out"), arg("q_mask").none(),
        arg("d_mask").none(), COLMAX_OPTION_NAMES,
        "Cross product [Nq, Nd] or per-query candidates [Nq, K], written into out.");
  m.def("maxsim_pairs", &bind_maxsim_pairs, arg("Q"), arg("D"), arg("out"), arg("q_mask").none(),
        arg("d_mask").none(), COLMAX_OPTION_NAMES, "Pairs Q[b] x D[b] -> out [B].");
  m.def("maxsim_packed", &bind_maxsim_packed, arg("Q"), arg("cu_seqlens_q"), arg("D"),
        arg("cu_seqlens_d"), arg("out"), arg("q_mask").none(), arg("d_mask").none(),
        COLMAX_OPTION_NAMES,
        "Packed sequences, every query against every document -> out [Nq, Nd].");
  m.def("maxsim_packed_pairs", &bind_maxsim_packed_pairs, arg("Q"), arg("cu_seqlens_q"), arg("D"),
        arg("cu_seqlens_d"), arg("pair_q"), arg("pair_d"), arg("out"), arg("q_mask").none(),
        arg("d_mask").none(), COLMAX_OPTION_NAMES, "Pair list over packed sequences -> out [P].");
  m.def("retrieve", &bind_retrieve, arg("Q"), arg("D"), arg("cu_seqlens_d").none(), arg("k"),
        arg("scores"), arg("indices"), arg("q_mask").none(), arg("d_mask").none(),
        COLMAX_OPTION_NAMES,
        "Top-k documents per query (padded, or packed when cu_seqlens_d is given).");
  m.def("register_torch", &register_torch, arg("tensor_type"), arg("dtypes"),
        "Lets torch tensors skip DLPack: torch.Tensor and [(torch dtype, colmax dtype code)].");
  m.def("retrieve_count", &retrieve_count, arg("k"), arg("num_documents"),
        "min(k, num_documents); raises ValueError when k < 0.");
}

}  // namespace colmax::python
