// `colmax topk`: the k best documents of each query, written as float32 scores and int64
// indices.
#include <cstdio>

#include "../args.hpp"
#include "../device.hpp"
#include "../npy.hpp"
#include "../retrieval.hpp"
#include "../score_inputs.hpp"
#include "../timing.hpp"
#include "../views.hpp"
#include "commands.hpp"

namespace colmax::cli {

int topk_command(std::span<const std::string> argv, Streams io) {
  auto specs = score_input_options();
  specs.push_back({"k", "K", "how many documents per query (at most Nd are returned)"});
  specs.push_back({"out-scores", "FILE", "where to write the float32 scores .npy [Nq, k]"});
  specs.push_back({"out-indices", "FILE", "where to write the int64 document indices [Nq, k]"});
  Args args("topk",
            "--queries Q.npy --docs D.npy --k K --out-scores S.npy --out-indices I.npy [options]",
            "Top-k retrieval: Q [Nq, Lq, dim] x D [Nd, Ld, dim] -> the k best documents of "
            "each query,\nbest first; equal scores go to the lower index; NaN ranks first.",
            specs);
  if (!args.parse(argv, io.out)) return 0;
  args.required("k");
  const int64_t k = args.integer("k", 0, 0);
  const std::string scores_path = args.required("out-scores");
  const std::string indices_path = args.required("out-indices");
  const ScoreInputs in = load_score_inputs(args, /*candidates=*/false, io.err);
  const int64_t nq = in.Q.shape[0], nd = in.D.shape[0];
  const int64_t n = retrieve_count(k, nd);

  Stopwatch clock;
  Arena arena(in.device);
  const TensorView Q = arena.upload(in.Q.view()), D = arena.upload(in.D.view());
  Masks masks;
  if (in.has_q_mask) masks.query = arena.upload(in.q_mask.view());
  if (in.has_d_mask) masks.document = arena.upload(in.d_mask.view());
  const TensorView s_out = arena.allocate(DType::float32, {nq, n});
  const TensorView i_out = arena.allocate(DType::int64, {nq, n});

  // One call, or slices of documents merged on the host to show progress.
  const int64_t slices = in.progress == ProgressStyle::none ? 1 : progress_slices(nd, 64);
  Progress progress(io.err, in.progress, "top-k", nd, "docs");
  TopKMerger merger(nq, n);
  std::vector<float> scores(size_t(nq * n));
  std::vector<int64_t> indices(size_t(nq * n));
  for (int64_t s = 0; s < slices; ++s) {
    const int64_t b = nd * s / slices, e = nd * (s + 1) / slices;
    const int64_t ks = retrieve_count(n, e - b);
    const TensorView sv(s_out.data(), DType::float32, {nq, ks}, arena.device());
    const TensorView iv(i_out.data(), DType::int64, {nq, ks}, arena.device());
    retrieve(Q, rows(D, b, e), ks, sv, iv, {masks.query, rows(masks.document, b, e)}, in.options);
    arena.download(sv, scores.data());
    arena.download(iv, indices.data());
    merger.add(std::span<const float>(scores.data(), size_t(nq * ks)),
               std::span<const int64_t>(indices.data(), size_t(nq * ks)), ks, b);
    progress.advance(e - b);
  }
  progress.finish();
  scores = merger.scores();
  indices = merger.indices();
  const double seconds = clock.seconds();

  const std::vector<int64_t> shape{nq, n};
  write_npy(scores_path, NpyType::float32, shape, std::as_bytes(std::span<const float>(scores)));
  write_npy(indices_path, NpyType::int64, shape, std::as_bytes(std::span<const int64_t>(indices)));
  char time[32];
  std::snprintf(time, sizeof time, "%.3f s", seconds);
  io.out << "top-" << n << " of " << nd << " documents for " << nq << " queries -> " << scores_path
         << ", " << indices_path << " (" << time << " on "
         << describe_device(in.device, in.options.num_threads > 0 ? in.options.num_threads
                                                                  : default_num_threads())
         << ")\n";
  return 0;
}

}  // namespace colmax::cli
