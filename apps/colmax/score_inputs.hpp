// score_inputs.hpp — the options and input files `colmax score` and `colmax topk` share.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "args.hpp"
#include "colmax/colmax.hpp"
#include "inputs.hpp"
#include "progress.hpp"

namespace colmax::cli {

struct ScoreInputs {
  HostTensor Q, D, q_mask, d_mask;  // masks: empty data when not given
  bool has_q_mask = false, has_d_mask = false;
  Options options;
  Device device;
  ProgressStyle progress = ProgressStyle::none;
};

// --queries, --docs, --query-mask, --doc-mask, --bf16, --normalize, --mask-mode, --device,
// --threads, --progress.
std::vector<OptionSpec> score_input_options();

// Reads and checks the files named by the options. `candidates` allows 4-d documents
// [Nq, K, Ld, dim] (per-query candidates) as well as 3-d [Nd, Ld, dim].
ScoreInputs load_score_inputs(const Args& args, bool candidates, std::ostream& notes);

}  // namespace colmax::cli
