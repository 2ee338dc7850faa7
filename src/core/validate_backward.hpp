// Turns the public arguments of the forward-with-winners and backward calls into a validated
// Training, or throws colmax::Error naming the argument, what was expected and what came.
// The inputs, masks and scores go through validate.hpp's checks; this adds the winners, the
// gradient outputs and the strategy.
#pragma once

#include "colmax/backward.hpp"
#include "core/training.hpp"

namespace colmax::detail {

// The layout of a call, and the tensors every layout may take (absent where unused).
struct TrainingArgs {
  enum class Layout { padded, pairs, packed, packed_pairs } layout = Layout::padded;
  TensorView Q, cu_q, D, cu_d, pair_q, pair_d;
  TensorView out;             // forward: the scores; backward: grad_out
  TensorView winners;         // required by the forward; optional in the backward
  TensorView grad_Q, grad_D;  // backward only
  Masks masks;
  Options options;
  BackwardStrategy strategy = BackwardStrategy::automatic;
};

void build_forward(Training& tr, const char* fn, const TrainingArgs& a);
void build_backward(Training& tr, const char* fn, const TrainingArgs& a);

}  // namespace colmax::detail
