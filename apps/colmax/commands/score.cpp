// `colmax score`: MaxSim scores of .npy inputs, written as a float32 .npy.
#include <cstdio>

#include "../args.hpp"
#include "../device.hpp"
#include "../npy.hpp"
#include "../score_inputs.hpp"
#include "../timing.hpp"
#include "../views.hpp"
#include "commands.hpp"

namespace colmax::cli {

int score_command(std::span<const std::string> argv, Streams io) {
  auto specs = score_input_options();
  specs.push_back({"out", "FILE", "where to write the float32 scores .npy"});
  Args args("score", "--queries Q.npy --docs D.npy --out S.npy [options]",
            "Scores every query against every document: Q [Nq, Lq, dim] x D [Nd, Ld, dim] -> "
            "[Nq, Nd],\nor per-query candidates: Q [Nq, Lq, dim] x D [Nq, K, Ld, dim] -> [Nq, K].",
            specs);
  if (!args.parse(argv, io.out)) return 0;
  const std::string out_path = args.required("out");
  const ScoreInputs in = load_score_inputs(args, /*candidates=*/true, io.err);
  const bool per_query = in.D.shape.size() == 4;
  const int64_t nq = in.Q.shape[0], cols = per_query ? in.D.shape[1] : in.D.shape[0];

  Stopwatch clock;
  Arena arena(in.device);
  const TensorView Q = arena.upload(in.Q.view()), D = arena.upload(in.D.view());
  Masks masks;
  if (in.has_q_mask) masks.query = arena.upload(in.q_mask.view());
  if (in.has_d_mask) masks.document = arena.upload(in.d_mask.view());
  const TensorView out = arena.allocate(DType::float32, {nq, cols});

  // One call, or slices of documents (queries for per-query candidates) to show progress.
  const int64_t items = per_query ? nq : cols;
  const int64_t slices = in.progress == ProgressStyle::none ? 1 : progress_slices(items, 64);
  Progress progress(io.err, in.progress, "scoring", items, per_query ? "queries" : "docs");
  for (int64_t s = 0; s < slices; ++s) {
    const int64_t b = items * s / slices, e = items * (s + 1) / slices;
    if (per_query) {
      maxsim(rows(Q, b, e), rows(D, b, e), rows(out, b, e),
             {rows(masks.query, b, e), rows(masks.document, b, e)}, in.options);
    } else {
      maxsim(Q, rows(D, b, e), columns(out, b, e), {masks.query, rows(masks.document, b, e)},
             in.options);
    }
    arena.synchronize();
    progress.advance(e - b);
  }
  progress.finish();

  std::vector<float> scores(size_t(nq * cols));
  arena.download(out, scores.data());
  const double seconds = clock.seconds();
  const std::vector<int64_t> shape{nq, cols};
  write_npy(out_path, NpyType::float32, shape, std::as_bytes(std::span<const float>(scores)));
  char time[32];
  std::snprintf(time, sizeof time, "%.3f s", seconds);
  io.out << "scores " << shape_string(shape) << " float32 -> " << out_path << " (" << time << " on "
         << describe_device(in.device, in.options.num_threads > 0 ? in.options.num_threads
                                                                  : default_num_threads())
         << ")\n";
  return 0;
}

}  // namespace colmax::cli
