// The public layout functions: validate into a Problem, then hand it to one backend.
#include <algorithm>

#include "colmax/error.hpp"
#include "colmax/maxsim.hpp"
#include "colmax/retrieve.hpp"
#include "core/backends.hpp"
#include "core/validate.hpp"

namespace colmax {
namespace {

void run(const detail::Problem& p, const char* fn) {
  switch (detail::resolve_backend(p, fn)) {
    case Backend::reference:
      detail::reference_maxsim(p);
      return;
    case Backend::cuda:
      detail::cuda_maxsim(p);
      return;
    default:
      detail::cpu_maxsim(p);
      return;
  }
}

void run_topk(const detail::Problem& p, const detail::TopK& t, const char* fn) {
  switch (detail::resolve_backend(p, fn)) {
    case Backend::reference:
      detail::reference_topk(p, t);
      return;
    case Backend::cuda:
      detail::cuda_topk(p, t);
      return;
    default:
      detail::cpu_topk(p, t);
      return;
  }
}

}  // namespace

void maxsim(const TensorView& Q, const TensorView& D, const TensorView& out, const Masks& masks,
            const Options& options) {
  detail::Problem p;
  detail::build_padded(p, "maxsim", Q, D, out, masks, options);
  run(p, "maxsim");
}

void maxsim_pairs(const TensorView& Q, const TensorView& D, const TensorView& out,
                  const Masks& masks, const Options& options) {
  detail::Problem p;
  detail::build_pairs(p, "maxsim_pairs", Q, D, out, masks, options);
  run(p, "maxsim_pairs");
}

void maxsim_packed(const TensorView& Q, const TensorView& cu_seqlens_q, const TensorView& D,
                   const TensorView& cu_seqlens_d, const TensorView& out, const Masks& masks,
                   const Options& options) {
  detail::Problem p;
  detail::build_packed(p, "maxsim_packed", Q, cu_seqlens_q, D, cu_seqlens_d, {}, {}, out, masks,
                       options);
  run(p, "maxsim_packed");
}

void maxsim_packed_pairs(const TensorView& Q, const TensorView& cu_seqlens_q, const TensorView& D,
                         const TensorView& cu_seqlens_d, const TensorView& pair_q,
                         const TensorView& pair_d, const TensorView& out, const Masks& masks,
                         const Options& options) {
  detail::Problem p;
  detail::build_packed(p, "maxsim_packed_pairs", Q, cu_seqlens_q, D, cu_seqlens_d, pair_q, pair_d,
                       out, masks, options);
  run(p, "maxsim_packed_pairs");
}

int64_t retrieve_count(int64_t k, int64_t num_documents) {
  if (k < 0) {
    throw Error(ErrorKind::value, "colmax.retrieve: k: expected k >= 0, got " + std::to_string(k));
  }
  return std::min(k, num_documents);
}

void retrieve(const TensorView& Q, const TensorView& D, int64_t k, const TensorView& scores,
              const TensorView& indices, const Masks& masks, const Options& options) {
  detail::Problem p;
  detail::TopK t;
  detail::build_topk(p, t, "retrieve", Q, D, {}, k, scores, indices, masks, options);
  run_topk(p, t, "retrieve");
}

void retrieve_packed(const TensorView& Q, const TensorView& D, const TensorView& cu_seqlens_d,
                     int64_t k, const TensorView& scores, const TensorView& indices,
                     const Masks& masks, const Options& options) {
  detail::Problem p;
  detail::TopK t;
  detail::build_topk(p, t, "retrieve_packed", Q, D, cu_seqlens_d, k, scores, indices, masks,
                     options);
  run_topk(p, t, "retrieve_packed");
}

}  // namespace colmax
