// Reading the files of `colmax score` / `colmax topk` and checking that they fit together.
#include "score_inputs.hpp"

#include "device.hpp"
#include "npy.hpp"

namespace colmax::cli {

std::vector<OptionSpec> score_input_options() {
  return {
      {"queries", "FILE", ".npy queries [Nq, Lq, dim] (float32, float16; bfloat16 with --bf16)"},
      {"docs", "FILE", ".npy documents [Nd, Ld, dim] (or [Nq, K, Ld, dim] for score)"},
      {"query-mask", "FILE", ".npy mask [Nq, Lq] (bool, integer or float; non-zero = valid)"},
      {"doc-mask", "FILE", ".npy mask over the document tokens ([Nd, Ld] or [Nq, K, Ld])"},
      {"bf16", "", "uint16 embedding files hold bfloat16 bits"},
      {"normalize", "", "L2-normalise every token before scoring"},
      {"mask-mode", "MODE", "exclude (default: masked tokens never win) or zero (PyLate)"},
      {"device", "DEV", "auto (default), cpu, cuda or cuda:N"},
      {"threads", "T", "CPU threads (default: all cores)"},
      {"progress", "STYLE", "auto (default: a bar when stderr is a terminal), bar, plain, none"},
  };
}

ScoreInputs load_score_inputs(const Args& args, bool candidates, std::ostream& notes) {
  ScoreInputs in;
  in.options.mask_mode = args.choice("mask-mode", {"exclude", "zero"}, "exclude") == "zero"
                             ? MaskMode::zero
                             : MaskMode::exclude;
  in.options.normalize = args.flag("normalize");
  in.options.num_threads = int(args.integer("threads", 0, 0, 4096));
  in.progress = progress_style(args.choice("progress", {"auto", "bar", "plain", "none"}, "auto"));
  in.device = choose_device(args.text("device", "auto"));
  const bool bf16 = args.flag("bf16");

  const std::string q_path = args.required("queries"), d_path = args.required("docs");
  const std::string q_name = "--queries " + q_path, d_name = "--docs " + d_path;
  in.Q = embeddings_from_npy(read_npy(q_path), q_name, {3}, "[Nq, Lq, dim]", bf16, notes);
  if (candidates) {
    in.D = embeddings_from_npy(read_npy(d_path), d_name, {3, 4},
                               "[Nd, Ld, dim] or [Nq, K, Ld, dim]", bf16, notes);
  } else {
    in.D = embeddings_from_npy(read_npy(d_path), d_name, {3}, "[Nd, Ld, dim]", bf16, notes);
  }
  const auto& qs = in.Q.shape;
  const auto& ds = in.D.shape;
  if (qs.back() != ds.back()) {
    throw InputError(d_name + ": embedding dim " + std::to_string(ds.back()) +
                     " differs from the queries' " + std::to_string(qs.back()) + " (" + q_name +
                     ")");
  }
  if (ds.size() == 4 && ds[0] != qs[0]) {
    throw InputError(d_name + ": 4-d documents [Nq, K, Ld, dim] need Nq = " +
                     std::to_string(qs[0]) + " (the number of queries), got " + shape_string(ds));
  }
  if (args.has("query-mask")) {
    const std::string p = args.text("query-mask");
    const std::vector<int64_t> want{qs[0], qs[1]};
    in.q_mask = mask_from_npy(read_npy(p), "--query-mask " + p, want, "[Nq, Lq] of the queries");
    in.has_q_mask = true;
  }
  if (args.has("doc-mask")) {
    const std::string p = args.text("doc-mask");
    const std::vector<int64_t> want(ds.begin(), ds.end() - 1);
    in.d_mask = mask_from_npy(
        read_npy(p), "--doc-mask " + p, want,
        ds.size() == 4 ? "[Nq, K, Ld] of the documents" : "[Nd, Ld] of the documents");
    in.has_d_mask = true;
  }
  return in;
}

}  // namespace colmax::cli
