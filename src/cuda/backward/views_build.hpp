// Builds the device views of views.hpp from a validated Training (host side).
#pragma once

#include "core/training.hpp"
#include "cuda/backward/views.hpp"

namespace colmax::detail::cuda_train {

Seqs make_seqs(const SeqSet& s);
Seqs make_grad_seqs(const GradOut& g);
Pairs make_pairs(const Problem& p);
Scores make_scores(const Problem& p);
WinnerView make_winners(const Winners& w);

}  // namespace colmax::detail::cuda_train
