// `colmax demo`: a synthetic corpus, top-k retrieval on the best device, a check against the
// float64 reference, throughput, and the speedup over the naive similarity-matrix approach.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../args.hpp"
#include "../corpus.hpp"
#include "../demo_defaults.hpp"
#include "../device.hpp"
#include "../format.hpp"
#include "../half.hpp"
#include "../naive.hpp"
#include "../retrieval.hpp"
#include "../self_check.hpp"
#include "../timing.hpp"
#include "commands.hpp"

namespace colmax::cli {
namespace {

struct DemoConfig {
  CorpusSpec corpus;
  int64_t queries = 0, query_len = 0, k = 0, show = 0, naive_docs = 0;
  Device device;
  int threads = 0;
  ProgressStyle progress = ProgressStyle::none;
};

DemoConfig configure(const Args& args) {
  DemoConfig c;
  c.device = choose_device(args.text("device", "auto"));
  const DemoSize size = c.device.kind == DeviceKind::cuda ? kDemoCuda : kDemoCpu;
  c.threads = int(args.integer("threads", 0, 0, 4096));
  if (c.threads == 0) c.threads = default_num_threads();
  c.corpus.docs = args.integer("docs", size.docs, 1);
  c.corpus.min_len = args.integer("min-len", kDemoMinDocLength, 1, 1 << 20);
  c.corpus.max_len = args.integer("max-len", std::max(kDemoMaxDocLength, c.corpus.min_len),
                                  c.corpus.min_len, 1 << 20);
  c.corpus.dim = args.integer("dim", kDemoDim, 1, 1 << 16);
  c.corpus.seed = uint64_t(args.integer("seed", int64_t(kDemoSeed), 0));
  c.corpus.threads = c.threads;
  c.queries = args.integer("queries", size.queries, 1, 1 << 20);
  c.query_len = args.integer("query-len", kDemoQueryLength, 1, 1 << 16);
  c.k = args.integer("k", kDemoK, 1, 1 << 20);
  c.show = args.integer("show", 2, 0);
  c.naive_docs = args.integer("naive-docs", kDemoNaiveDocs, 1);
  c.progress = progress_style(args.choice("progress", {"auto", "bar", "plain", "none"}, "auto"));
  return c;
}

struct NaiveTiming {
  int64_t queries = 0, docs = 0;
  double seconds = 0, extrapolated = 0, max_rel_diff = 0;
};

// Times the naive baseline on the first queries and documents, extrapolates it to the full
// run by the number of token pairs, and compares its scores with colmax's on that subset.
NaiveTiming time_naive(Arena& arena, const DemoViews& v, const Corpus& corpus,
                       const QuerySet& queries, const DemoConfig& c, const Options& options) {
  NaiveTiming t;
  t.queries = std::min<int64_t>(queries.count, 4);
  t.docs = std::min(corpus.docs(), c.naive_docs);
  std::vector<float> q(size_t(t.queries * queries.length * queries.dim));
  for (size_t i = 0; i < q.size(); ++i) q[i] = bf16_to_float(queries.tokens[i]);
  std::vector<float> naive(size_t(t.queries * t.docs));
  Stopwatch clock;
  naive_scores(q.data(), t.queries, queries.length, corpus, 0, t.docs, c.threads, naive.data());
  t.seconds = clock.seconds();
  const double subset_pairs = double(t.queries) * double(corpus.cu_seqlens[size_t(t.docs)]);
  const double full_pairs = double(queries.count) * double(corpus.num_tokens());
  t.extrapolated = t.seconds * full_pairs / std::max(subset_pairs, 1.0);

  // colmax on the same subset: the two must agree.
  const TensorView qs(v.q.data(), v.q.dtype(), {t.queries * queries.length, queries.dim},
                      arena.device());
  const TensorView cu_q = arena.allocate(DType::int64, {t.queries + 1});
  const TensorView cu_d = arena.allocate(DType::int64, {t.docs + 1});
  std::vector<int64_t> cq(size_t(t.queries + 1));
  for (int64_t i = 0; i <= t.queries; ++i) cq[size_t(i)] = i * queries.length;
  arena.copy_in(cq.data(), cu_q);
  arena.copy_in(corpus.cu_seqlens.data(), cu_d);
  const TensorView ds(v.d.data(), v.d.dtype(), {corpus.cu_seqlens[size_t(t.docs)], queries.dim},
                      arena.device());
  const TensorView out = arena.allocate(DType::float32, {t.queries, t.docs});
  maxsim_packed(qs, cu_q, ds, cu_d, out, {}, options);
  std::vector<float> fast(naive.size());
  arena.download(out, fast.data());
  for (size_t i = 0; i < fast.size(); ++i) {
    const double d = std::fabs(double(fast[i]) - double(naive[i]));
    t.max_rel_diff = std::max(t.max_rel_diff, d / std::max(1.0, std::fabs(double(fast[i]))));
  }
  return t;
}

void print_hits(std::ostream& out, const Corpus& corpus, const QuerySet& queries,
                const TopKMerger& results, int64_t show) {
  const int64_t k = results.width();
  const std::vector<float> scores = results.scores();
  const std::vector<int64_t> docs = results.indices();
  for (int64_t q = 0; q < std::min(show, queries.count); ++q) {
    const int64_t src = queries.source[size_t(q)];
    out << "\nquery " << q << " (planted from document " << grouped(src) << ", topic "
        << corpus.topic[size_t(src)] << "):\n";
    for (int64_t j = 0; j < std::min<int64_t>(k, 5); ++j) {
      const int64_t d = docs[size_t(q * k + j)];
      out << "  " << (j + 1) << ". document " << grouped(d) << "  score "
          << fixed(scores[size_t(q * k + j)], 3) << "  (" << corpus.length(d) << " tokens, topic "
          << corpus.topic[size_t(d)] << ")" << (d == src ? "  <- planted" : "") << "\n";
    }
  }
}

// "corpus   ": the left column of the report.
std::string label(const std::string& name) {
  return name + std::string(name.size() < 9 ? 9 - name.size() : 1, ' ');
}

}  // namespace

int demo_command(std::span<const std::string> argv, Streams io) {
  Args args("demo", "[options]",
            "Builds a synthetic corpus (bfloat16 token embeddings, documents of varied length "
            "around topics),\nplants each query in one document, retrieves the top-k documents "
            "of every query on the best\ndevice, checks a sample of scores against the float64 "
            "reference, and reports throughput and\nthe speedup over the naive approach "
            "(similarity matrices in memory, then max + sum).",
            {{"docs", "N",
              "documents in the corpus (" + grouped(kDemoCpu.docs) + " on a CPU, " +
                  grouped(kDemoCuda.docs) + " on a GPU)"},
             {"queries", "N",
              "queries (" + grouped(kDemoCpu.queries) + " on a CPU, " + grouped(kDemoCuda.queries) +
                  " on a GPU)"},
             {"query-len", "N", "tokens per query (32)"},
             {"min-len", "N", "shortest document, in tokens (32)"},
             {"max-len", "N", "longest document, in tokens (300)"},
             {"dim", "N", "embedding dimension (128)"},
             {"k", "K", "documents retrieved per query (10)"},
             {"seed", "S", "random seed (42)"},
             {"device", "DEV", "auto (default: a GPU when there is one), cpu, cuda, cuda:N"},
             {"threads", "T", "CPU threads (default: all cores)"},
             {"naive-docs", "N", "documents the naive baseline is timed on (256)"},
             {"show", "N", "queries whose top hits are printed (2)"},
             {"progress", "STYLE",
              "auto (default: a bar when stderr is a terminal), bar, "
              "plain, none"}});
  if (!args.parse(argv, io.out)) return 0;
  const DemoConfig c = configure(args);
  Options options;
  options.num_threads = c.threads;
  Stopwatch total;

  io.out << "colmax " << version() << " demo on " << describe_device(c.device, c.threads) << "\n\n";

  // 1. The corpus and the queries.
  Stopwatch clock;
  Corpus corpus;
  {
    Progress p(io.err, c.progress, "corpus", c.corpus.docs, "docs");
    corpus = make_corpus(c.corpus, &p);
  }
  const QuerySet queries = make_queries(corpus, c.queries, c.query_len, c.corpus.seed);
  const int64_t td = corpus.num_tokens(), dim = corpus.dim;
  io.out << "corpus   " << grouped(corpus.docs()) << " documents, " << grouped(td) << " tokens ("
         << c.corpus.min_len << ".." << c.corpus.max_len << " per document), dim " << dim
         << ", bfloat16, " << byte_size(double(td * dim * 2)) << ", generated in "
         << duration(clock.seconds()) << " (" << c.threads << " threads)\n";
  io.out << "queries  " << grouped(queries.count) << " x " << queries.length
         << " tokens, each planted from one document\n";

  // 2. Onto the device.
  clock.restart();
  Arena arena(c.device);
  std::vector<int64_t> cu_q(size_t(queries.count + 1));
  for (int64_t i = 0; i <= queries.count; ++i) cu_q[size_t(i)] = i * queries.length;
  DemoViews v;
  v.q_host =
      TensorView(queries.tokens.data(), DType::bfloat16, {queries.count * queries.length, dim});
  v.cu_q_host = TensorView(cu_q.data(), DType::int64, {queries.count + 1});
  v.d_host = TensorView(corpus.tokens.data(), DType::bfloat16, {td, dim});
  v.cu_d_host = TensorView(corpus.cu_seqlens.data(), DType::int64, {corpus.docs() + 1});
  v.q = arena.upload(v.q_host);
  v.cu_q = arena.upload(v.cu_q_host);
  v.d = arena.upload(v.d_host);
  v.cu_d = arena.upload(v.cu_d_host);
  const TensorView q3(v.q.data(), DType::bfloat16, {queries.count, queries.length, dim},
                      arena.device());
  if (arena.on_gpu()) {
    // Not timed: the copy to the GPU and a first small call (module loading, pools).
    retrieve_sliced(arena, q3, v.d, std::span(corpus.cu_seqlens).first(2), c.k, 1, options,
                    nullptr);
    arena.synchronize();
    io.out << "upload   " << byte_size(double(td * dim * 2)) << " to the GPU in "
           << duration(clock.seconds()) << " (not counted below)\n";
  }

  // 3. Top-k retrieval, timed. On the CPU, in slices of documents so that progress shows.
  const int64_t slices = arena.on_gpu() ? 1 : std::clamp<int64_t>(corpus.docs() / 1000, 1, 20);
  clock.restart();
  TopKMerger results(0, 0);
  {
    Progress p(io.err, c.progress, "top-k", corpus.docs(), "docs");
    results = retrieve_sliced(arena, q3, v.d, corpus.cu_seqlens, c.k, slices, options, &p);
  }
  const double seconds = clock.seconds();
  const double pairs = double(queries.count) * double(corpus.docs());
  const double token_pairs = double(queries.count * queries.length) * double(td);
  io.out << "\n"
         << label("top-" + std::to_string(c.k)) << "of " << grouped(corpus.docs())
         << " documents for " << grouped(queries.count) << " queries: " << duration(seconds)
         << (slices > 1 ? " (in " + std::to_string(slices) + " slices of documents)" : "") << "\n";
  io.out << "         " << rate(pairs / seconds) << " documents/s, "
         << rate(double(queries.count) * double(td) / seconds) << " document tokens/s, "
         << fixed(2.0 * token_pairs * double(dim) / seconds / 1e9, 1)
         << " GFLOP/s (2*Lq*Ld*dim per query-document pair)\n";

  // 4. Self-check against the float64 reference.
  clock.restart();
  const SelfCheck check = self_check(arena, v, corpus, queries, results, kDemoCheckQueries,
                                     kDemoCheckExtra, options, c.corpus.seed);
  io.out << "check    " << check.scores << " scores vs the float64 reference backend: max abs "
         << "error " << scientific(check.max_abs_error) << ", max rel error "
         << scientific(check.max_rel_error) << " (tolerance " << scientific(check.tolerance) << ")";
  if (check.outranked) io.out << ", " << check.outranked << " documents missed by top-k";
  if (check.nan) io.out << ", NaN scores";
  io.out << (check.passed() ? ": ok" : ": FAILED") << " (" << duration(clock.seconds()) << ")\n";

  // 5. The naive baseline on a subset, extrapolated.
  const NaiveTiming naive = time_naive(arena, v, corpus, queries, c, options);
  io.out << "naive    similarity matrix per pair in memory, then max + sum (CPU, " << c.threads
         << " threads): " << duration(naive.seconds) << " for " << naive.queries << " queries x "
         << grouped(naive.docs) << " documents, agrees with colmax to "
         << scientific(naive.max_rel_diff) << "\n"
         << "         extrapolated to the full run by token pairs: " << duration(naive.extrapolated)
         << "\n";
  io.out << "speedup  " << fixed(naive.extrapolated / seconds, 1)
         << "x over naive (extrapolated)\n";

  // 6. Did each query find the document it was planted from?
  int64_t first = 0, in_top = 0;
  const std::vector<int64_t> hits = results.indices();
  const int64_t k = results.width();
  for (int64_t q = 0; q < queries.count; ++q) {
    const int64_t* row = hits.data() + q * k;
    if (k > 0 && row[0] == queries.source[size_t(q)]) ++first;
    if (std::find(row, row + k, queries.source[size_t(q)]) != row + k) ++in_top;
  }
  io.out << "recall   the planted document ranks first for " << first << "/" << queries.count
         << " queries, in the top-" << k << " for " << in_top << "/" << queries.count << "\n";
  print_hits(io.out, corpus, queries, results, c.show);

  io.out << "\nself-check " << (check.passed() ? "passed" : "FAILED") << "; total "
         << duration(total.seconds()) << "\n";
  return check.passed() ? 0 : 1;
}

}  // namespace colmax::cli
