// The public training functions (colmax/backward.hpp): validate into a Training, then hand
// it to one backend.
#include "colmax/backward.hpp"

#include "core/backends.hpp"
#include "core/validate.hpp"
#include "core/validate_backward.hpp"

namespace colmax {
namespace {

using detail::TrainingArgs;
using Layout = TrainingArgs::Layout;

void forward(const char* fn, const TrainingArgs& a) {
  detail::Training tr;
  detail::build_forward(tr, fn, a);
  switch (detail::resolve_backend(tr.p, fn)) {
    case Backend::reference:
      detail::reference_maxsim_forward(tr);
      return;
    case Backend::cuda:
      detail::cuda_maxsim_forward(tr);
      return;
    default:
      detail::cpu_maxsim_forward(tr);
      return;
  }
}

void backward(const char* fn, const TrainingArgs& a) {
  detail::Training tr;
  detail::build_backward(tr, fn, a);
  const Backend backend = detail::resolve_backend(tr.p, fn);
  // Host-side winners are checked before any output is written; device-side ones are
  // bounds-checked by the kernels.
  if (tr.winners.present() && backend != Backend::cuda) detail::check_winners(tr, fn);
  switch (backend) {
    case Backend::reference:
      detail::reference_maxsim_backward(tr);
      return;
    case Backend::cuda:
      detail::cuda_maxsim_backward(tr);
      return;
    default:
      detail::cpu_maxsim_backward(tr);
      return;
  }
}

TrainingArgs padded(Layout layout, const TensorView& Q, const TensorView& D, const TensorView& out,
                    const TensorView& winners, const Masks& masks, const Options& options) {
  TrainingArgs a;
  a.layout = layout;
  a.Q = Q;
  a.D = D;
  a.out = out;
  a.winners = winners;
  a.masks = masks;
  a.options = options;
  return a;
}

TrainingArgs packed(Layout layout, const TensorView& Q, const TensorView& cu_q, const TensorView& D,
                    const TensorView& cu_d, const TensorView& pair_q, const TensorView& pair_d,
                    const TensorView& out, const TensorView& winners, const Masks& masks,
                    const Options& options) {
  TrainingArgs a = padded(layout, Q, D, out, winners, masks, options);
  a.cu_q = cu_q;
  a.cu_d = cu_d;
  a.pair_q = pair_q;
  a.pair_d = pair_d;
  return a;
}

TrainingArgs with_grads(TrainingArgs a, const TensorView& grad_Q, const TensorView& grad_D,
                        BackwardStrategy strategy) {
  a.grad_Q = grad_Q;
  a.grad_D = grad_D;
  a.strategy = strategy;
  return a;
}

}  // namespace

void maxsim_forward(const TensorView& Q, const TensorView& D, const TensorView& out,
                    const TensorView& winners, const Masks& masks, const Options& options) {
  forward("maxsim_forward", padded(Layout::padded, Q, D, out, winners, masks, options));
}

void maxsim_pairs_forward(const TensorView& Q, const TensorView& D, const TensorView& out,
                          const TensorView& winners, const Masks& masks, const Options& options) {
  forward("maxsim_pairs_forward", padded(Layout::pairs, Q, D, out, winners, masks, options));
}

void maxsim_packed_forward(const TensorView& Q, const TensorView& cu_seqlens_q, const TensorView& D,
                           const TensorView& cu_seqlens_d, const TensorView& out,
                           const TensorView& winners, const Masks& masks, const Options& options) {
  forward("maxsim_packed_forward", packed(Layout::packed, Q, cu_seqlens_q, D, cu_seqlens_d, {}, {},
                                          out, winners, masks, options));
}

void maxsim_packed_pairs_forward(const TensorView& Q, const TensorView& cu_seqlens_q,
                                 const TensorView& D, const TensorView& cu_seqlens_d,
                                 const TensorView& pair_q, const TensorView& pair_d,
                                 const TensorView& out, const TensorView& winners,
                                 const Masks& masks, const Options& options) {
  forward("maxsim_packed_pairs_forward",
          packed(Layout::packed_pairs, Q, cu_seqlens_q, D, cu_seqlens_d, pair_q, pair_d, out,
                 winners, masks, options));
}

void maxsim_backward(const TensorView& Q, const TensorView& D, const TensorView& grad_out,
                     const TensorView& winners, const TensorView& grad_Q, const TensorView& grad_D,
                     const Masks& masks, const Options& options, BackwardStrategy strategy) {
  backward("maxsim_backward",
           with_grads(padded(Layout::padded, Q, D, grad_out, winners, masks, options), grad_Q,
                      grad_D, strategy));
}

void maxsim_pairs_backward(const TensorView& Q, const TensorView& D, const TensorView& grad_out,
                           const TensorView& winners, const TensorView& grad_Q,
                           const TensorView& grad_D, const Masks& masks, const Options& options,
                           BackwardStrategy strategy) {
  backward("maxsim_pairs_backward",
           with_grads(padded(Layout::pairs, Q, D, grad_out, winners, masks, options), grad_Q,
                      grad_D, strategy));
}

void maxsim_packed_backward(const TensorView& Q, const TensorView& cu_seqlens_q,
                            const TensorView& D, const TensorView& cu_seqlens_d,
                            const TensorView& grad_out, const TensorView& winners,
                            const TensorView& grad_Q, const TensorView& grad_D, const Masks& masks,
                            const Options& options, BackwardStrategy strategy) {
  backward("maxsim_packed_backward",
           with_grads(packed(Layout::packed, Q, cu_seqlens_q, D, cu_seqlens_d, {}, {}, grad_out,
                             winners, masks, options),
                      grad_Q, grad_D, strategy));
}

void maxsim_packed_pairs_backward(const TensorView& Q, const TensorView& cu_seqlens_q,
                                  const TensorView& D, const TensorView& cu_seqlens_d,
                                  const TensorView& pair_q, const TensorView& pair_d,
                                  const TensorView& grad_out, const TensorView& winners,
                                  const TensorView& grad_Q, const TensorView& grad_D,
                                  const Masks& masks, const Options& options,
                                  BackwardStrategy strategy) {
  backward("maxsim_packed_pairs_backward",
           with_grads(packed(Layout::packed_pairs, Q, cu_seqlens_q, D, cu_seqlens_d, pair_q, pair_d,
                             grad_out, winners, masks, options),
                      grad_Q, grad_D, strategy));
}

}  // namespace colmax
