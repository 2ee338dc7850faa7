// Bindings of the forward layouts and top-k. Each takes its arrays, then the options as
// integer codes (see arrays.hpp); outputs are allocated by the caller in its own framework
// and written in place. The GIL is released while colmax runs.
#include <nanobind/nanobind.h>

#include "arrays.hpp"
#include "bindings.hpp"
#include "colmax/maxsim.hpp"
#include "colmax/retrieve.hpp"

namespace colmax::python {

namespace {

using nb::arg;

Masks masks_of(const InArray& q_mask, const InArray& d_mask) {
  return {view_of(q_mask, "q_mask"), view_of(d_mask, "d_mask")};
}

// The trailing option arguments shared by every binding.
#define COLMAX_OPTION_PARAMS \
  int mask_mode, bool normalize, int fp32_precision, int backend, int num_threads, \
      std::uintptr_t stream
#define COLMAX_OPTION_ARGS mask_mode, normalize, fp32_precision, backend, num_threads, stream
#define COLMAX_OPTION_NAMES                                                                  \
  arg("mask_mode"), arg("normalize"), arg("fp32_precision"), arg("backend"),                 \
      arg("num_threads"), arg("stream")

void bind_maxsim(const InArray& Q, const InArray& D, const OutArray& out, const InArray& q_mask,
                 const InArray& d_mask, COLMAX_OPTION_PARAMS) {
  Options options = make_options(COLMAX_OPTION_ARGS);
  TensorView q = view_of(Q, "Q"), d = view_of(D, "D"), o = view_of(out, "out");
  Masks masks = masks_of(q_mask, d_mask);
  nb::gil_scoped_release release;
  maxsim(q, d, o, masks, options);
}

void bind_maxsim_pairs(const InArray& Q, const InArray& D, const OutArray& out,
                       const InArray& q_mask, const InArray& d_mask, COLMAX_OPTION_PARAMS) {
  Options options = make_options(COLMAX_OPTION_ARGS);
  TensorView q = view_of(Q, "Q"), d = view_of(D, "D"), o = view_of(out, "out");
  Masks masks = masks_of(q_mask, d_mask);
  nb::gil_scoped_release release;
  maxsim_pairs(q, d, o, masks, options);
}

void bind_maxsim_packed(const InArray& Q, const InArray& cu_q, const InArray& D,
                        const InArray& cu_d, const OutArray& out, const InArray& q_mask,
                        const InArray& d_mask, COLMAX_OPTION_PARAMS) {
  Options options = make_options(COLMAX_OPTION_ARGS);
  TensorView q = view_of(Q, "Q"), cq = view_of(cu_q, "cu_seqlens_q"), d = view_of(D, "D"),
             cd = view_of(cu_d, "cu_seqlens_d"), o = view_of(out, "out");
  Masks masks = masks_of(q_mask, d_mask);
  nb::gil_scoped_release release;
  maxsim_packed(q, cq, d, cd, o, masks, options);
}

void bind_maxsim_packed_pairs(const InArray& Q, const InArray& cu_q, const InArray& D,
                              const InArray& cu_d, const InArray& pair_q, const InArray& pair_d,
                              const OutArray& out, const InArray& q_mask, const InArray& d_mask,
                              COLMAX_OPTION_PARAMS) {
  Options options = make_options(COLMAX_OPTION_ARGS);
  TensorView q = view_of(Q, "Q"), cq = view_of(cu_q, "cu_seqlens_q"), d = view_of(D, "D"),
             cd = view_of(cu_d, "cu_seqlens_d"), pq = view_of(pair_q, "pair_q"),
             pd = view_of(pair_d, "pair_d"), o = view_of(out, "out");
  Masks masks = masks_of(q_mask, d_mask);
  nb::gil_scoped_release release;
  maxsim_packed_pairs(q, cq, d, cd, pq, pd, o, masks, options);
}

void bind_retrieve(const InArray& Q, const InArray& D, const InArray& cu_d, int64_t k,
                   const OutArray& scores, const OutArray& indices, const InArray& q_mask,
                   const InArray& d_mask, COLMAX_OPTION_PARAMS) {
  Options options = make_options(COLMAX_OPTION_ARGS);
  TensorView q = view_of(Q, "Q"), d = view_of(D, "D"), cd = view_of(cu_d, "cu_seqlens_d"),
             s = view_of(scores, "scores"), i = view_of(indices, "indices");
  Masks masks = masks_of(q_mask, d_mask);
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
  m.def("maxsim", &bind_maxsim, arg("Q").noconvert(), arg("D").noconvert(),
        arg("out").noconvert(), arg("q_mask").none().noconvert(),
        arg("d_mask").none().noconvert(), COLMAX_OPTION_NAMES,
        "Cross product [Nq, Nd] or per-query candidates [Nq, K], written into out.");
  m.def("maxsim_pairs", &bind_maxsim_pairs, arg("Q").noconvert(), arg("D").noconvert(),
        arg("out").noconvert(), arg("q_mask").none().noconvert(),
        arg("d_mask").none().noconvert(), COLMAX_OPTION_NAMES,
        "Pairs Q[b] x D[b] -> out [B].");
  m.def("maxsim_packed", &bind_maxsim_packed, arg("Q").noconvert(),
        arg("cu_seqlens_q").noconvert(), arg("D").noconvert(), arg("cu_seqlens_d").noconvert(),
        arg("out").noconvert(), arg("q_mask").none().noconvert(),
        arg("d_mask").none().noconvert(), COLMAX_OPTION_NAMES,
        "Packed sequences, every query against every document -> out [Nq, Nd].");
  m.def("maxsim_packed_pairs", &bind_maxsim_packed_pairs, arg("Q").noconvert(),
        arg("cu_seqlens_q").noconvert(), arg("D").noconvert(), arg("cu_seqlens_d").noconvert(),
        arg("pair_q").noconvert(), arg("pair_d").noconvert(), arg("out").noconvert(),
        arg("q_mask").none().noconvert(), arg("d_mask").none().noconvert(), COLMAX_OPTION_NAMES,
        "Pair list over packed sequences -> out [P].");
  m.def("retrieve", &bind_retrieve, arg("Q").noconvert(), arg("D").noconvert(),
        arg("cu_seqlens_d").none().noconvert(), arg("k"), arg("scores").noconvert(),
        arg("indices").noconvert(), arg("q_mask").none().noconvert(),
        arg("d_mask").none().noconvert(), COLMAX_OPTION_NAMES,
        "Top-k documents per query (padded, or packed when cu_seqlens_d is given).");
  m.def("retrieve_count", &retrieve_count, arg("k"), arg("num_documents"),
        "min(k, num_documents); raises ValueError when k < 0.");
}

}  // namespace colmax::python
