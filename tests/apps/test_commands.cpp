// The commands end to end, in-process: score and topk on small files against the library
// called directly, every input error, info, demo with small sizes, bench with a tiny shape.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include "cli_test_util.hpp"
#include "colmax/colmax.hpp"
#include "half.hpp"

namespace colmax::cli::test {
namespace {

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<uint8_t> random_mask(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> m(n);
  for (auto& x : m) x = rng() % 4 != 0;
  return m;
}

void expect_close(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-5 * std::max(1.0f, std::abs(want[i]))) << "at " << i;
  }
}

class Commands : public ::testing::Test {
 protected:
  TempDir dir;
  // Q [3, 5, 8] and D [200, 6, 8] float32, masks with holes.
  const int64_t nq = 3, lq = 5, nd = 200, ld = 6, dim = 8;
  const std::vector<float> q = random_floats(size_t(nq * lq * dim), 1);
  const std::vector<float> d = random_floats(size_t(nd * ld * dim), 2);
  const std::vector<uint8_t> qm = random_mask(size_t(nq * lq), 3);
  const std::vector<uint8_t> dm = random_mask(size_t(nd * ld), 4);

  void SetUp() override {
    save(dir.file("q.npy"), NpyType::float32, {nq, lq, dim}, q);
    save(dir.file("d.npy"), NpyType::float32, {nd, ld, dim}, d);
    save(dir.file("qm.npy"), NpyType::boolean, {nq, lq}, qm);
    std::vector<int32_t> dm32(dm.begin(), dm.end());
    save(dir.file("dm.npy"), NpyType::int32, {nd, ld}, dm32);
  }

  std::vector<float> library_scores(const Options& options, bool masks) {
    std::vector<float> out(size_t(nq * nd));
    Masks m;
    if (masks) {
      m.query = TensorView(qm.data(), DType::uint8, {nq, lq});
      m.document = TensorView(dm.data(), DType::uint8, {nd, ld});
    }
    maxsim(TensorView(q.data(), DType::float32, {nq, lq, dim}),
           TensorView(d.data(), DType::float32, {nd, ld, dim}),
           TensorView(out.data(), DType::float32, {nq, nd}), m, options);
    return out;
  }

  std::vector<float> read_scores(const std::string& name, std::vector<int64_t> shape) {
    const NpyArray a = read_npy(dir.file(name));
    EXPECT_EQ(a.type, NpyType::float32);
    EXPECT_EQ(a.shape, shape);
    return values_of<float>(a);
  }

  std::vector<std::string> score_args(std::vector<std::string> extra) {
    std::vector<std::string> a{"score",           "--queries", dir.file("q.npy"), "--docs",
                               dir.file("d.npy"), "--out",     dir.file("s.npy")};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

TEST_F(Commands, ScoreMatchesTheLibrary) {
  const CliResult r = run_cli(score_args({}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("scores [3, 200] float32 -> "), std::string::npos) << r.out;
  expect_close(read_scores("s.npy", {nq, nd}), library_scores({}, false));
}

TEST_F(Commands, ScoreWithMasksModesAndNormalize) {
  for (const char* mode : {"exclude", "zero"}) {
    const CliResult r =
        run_cli(score_args({"--query-mask", dir.file("qm.npy"), "--doc-mask", dir.file("dm.npy"),
                            "--mask-mode", mode, "--normalize", "--threads", "2"}));
    ASSERT_EQ(r.code, 0) << r.err;
    Options o;
    o.mask_mode = std::string(mode) == "zero" ? MaskMode::zero : MaskMode::exclude;
    o.normalize = true;
    expect_close(read_scores("s.npy", {nq, nd}), library_scores(o, true));
  }
}

TEST_F(Commands, ScoreInSlicesWithProgressGivesTheSameScores) {
  const CliResult r =
      run_cli(score_args({"--doc-mask", dir.file("dm.npy"), "--progress", "plain"}));
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<float> out(size_t(nq * nd));
  maxsim(TensorView(q.data(), DType::float32, {nq, lq, dim}),
         TensorView(d.data(), DType::float32, {nd, ld, dim}),
         TensorView(out.data(), DType::float32, {nq, nd}),
         {TensorView(), TensorView(dm.data(), DType::uint8, {nd, ld})});
  expect_close(read_scores("s.npy", {nq, nd}), out);
}

TEST_F(Commands, ScorePerQueryCandidates) {
  const int64_t k = 4;
  const std::vector<float> cand = random_floats(size_t(nq * k * ld * dim), 9);
  const std::vector<float> cm = [&] {
    std::vector<float> m(size_t(nq * k * ld));
    for (size_t i = 0; i < m.size(); ++i) m[i] = i % 5 == 0 ? 0.0f : 1.0f;
    return m;
  }();
  save(dir.file("cand.npy"), NpyType::float32, {nq, k, ld, dim}, cand);
  save(dir.file("cm.npy"), NpyType::float32, {nq, k, ld}, cm);
  for (const char* progress : {"none", "plain"}) {
    const CliResult r = run_cli({"score", "--queries", dir.file("q.npy"), "--docs",
                                 dir.file("cand.npy"), "--doc-mask", dir.file("cm.npy"), "--out",
                                 dir.file("s.npy"), "--progress", progress});
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<float> want(size_t(nq * k));
    maxsim(TensorView(q.data(), DType::float32, {nq, lq, dim}),
           TensorView(cand.data(), DType::float32, {nq, k, ld, dim}),
           TensorView(want.data(), DType::float32, {nq, k}),
           {TensorView(), TensorView(cm.data(), DType::float32, {nq, k, ld})});
    expect_close(read_scores("s.npy", {nq, k}), want);
  }
}

TEST_F(Commands, ScoreHalfPrecisionInputs) {
  std::vector<uint16_t> q16(q.size()), d16(d.size()), qb(q.size()), db(d.size());
  for (size_t i = 0; i < q.size(); ++i) {
    q16[i] = float_to_fp16(q[i]);
    qb[i] = float_to_bf16(q[i]);
  }
  for (size_t i = 0; i < d.size(); ++i) {
    d16[i] = float_to_fp16(d[i]);
    db[i] = float_to_bf16(d[i]);
  }
  save(dir.file("q16.npy"), NpyType::float16, {nq, lq, dim}, q16);
  save(dir.file("db.npy"), NpyType::uint16, {nd, ld, dim}, db);
  // fp16 queries against bf16 documents (uint16 with --bf16).
  const CliResult r = run_cli({"score", "--queries", dir.file("q16.npy"), "--docs",
                               dir.file("db.npy"), "--bf16", "--out", dir.file("s.npy")});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<float> want(size_t(nq * nd));
  maxsim(TensorView(q16.data(), DType::float16, {nq, lq, dim}),
         TensorView(db.data(), DType::bfloat16, {nd, ld, dim}),
         TensorView(want.data(), DType::float32, {nq, nd}));
  expect_close(read_scores("s.npy", {nq, nd}), want);
  // Without --bf16 the uint16 file is refused with a hint.
  const CliResult refused = run_cli({"score", "--queries", dir.file("q16.npy"), "--docs",
                                     dir.file("db.npy"), "--out", dir.file("s.npy")});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("pass --bf16"), std::string::npos) << refused.err;
}

TEST_F(Commands, TopkMatchesTheLibrary) {
  for (int64_t k : {1, 7, 200, 500}) {
    for (const char* progress : {"none", "plain"}) {
      const CliResult r = run_cli({"topk", "--queries", dir.file("q.npy"), "--docs",
                                   dir.file("d.npy"), "--doc-mask", dir.file("dm.npy"), "--k",
                                   std::to_string(k), "--out-scores", dir.file("ts.npy"),
                                   "--out-indices", dir.file("ti.npy"), "--progress", progress});
      ASSERT_EQ(r.code, 0) << r.err;
      const int64_t n = std::min(k, nd);
      std::vector<float> scores(size_t(nq * n));
      std::vector<int64_t> indices(size_t(nq * n));
      retrieve(TensorView(q.data(), DType::float32, {nq, lq, dim}),
               TensorView(d.data(), DType::float32, {nd, ld, dim}), k,
               TensorView(scores.data(), DType::float32, {nq, n}),
               TensorView(indices.data(), DType::int64, {nq, n}),
               {TensorView(), TensorView(dm.data(), DType::uint8, {nd, ld})});
      expect_close(read_scores("ts.npy", {nq, n}), scores);
      const NpyArray i = read_npy(dir.file("ti.npy"));
      EXPECT_EQ(i.type, NpyType::int64);
      EXPECT_EQ(i.shape, (std::vector<int64_t>{nq, n}));
      EXPECT_EQ(values_of<int64_t>(i), indices) << "k " << k << " " << progress;
    }
  }
}

TEST_F(Commands, EmptyInputsGiveEmptyOrZeroOutputs) {
  save(dir.file("d0.npy"), NpyType::float32, {0, ld, dim}, std::vector<float>{});
  save(dir.file("q0.npy"), NpyType::float32, {0, lq, dim}, std::vector<float>{});
  save(dir.file("dl0.npy"), NpyType::float32, {2, 0, dim}, std::vector<float>{});
  ASSERT_EQ(run_cli({"score", "--queries", dir.file("q.npy"), "--docs", dir.file("d0.npy"), "--out",
                     dir.file("s.npy")})
                .code,
            0);
  EXPECT_TRUE(read_scores("s.npy", {nq, 0}).empty());
  ASSERT_EQ(run_cli({"score", "--queries", dir.file("q0.npy"), "--docs", dir.file("d.npy"), "--out",
                     dir.file("s.npy")})
                .code,
            0);
  EXPECT_TRUE(read_scores("s.npy", {0, nd}).empty());
  ASSERT_EQ(run_cli({"score", "--queries", dir.file("q.npy"), "--docs", dir.file("dl0.npy"),
                     "--out", dir.file("s.npy")})
                .code,
            0);
  EXPECT_EQ(read_scores("s.npy", {nq, 2}), std::vector<float>(size_t(nq * 2), 0.0f));
  ASSERT_EQ(run_cli({"topk", "--queries", dir.file("q.npy"), "--docs", dir.file("d0.npy"), "--k",
                     "3", "--out-scores", dir.file("ts.npy"), "--out-indices", dir.file("ti.npy"),
                     "--progress", "plain"})
                .code,
            0);
  EXPECT_TRUE(read_scores("ts.npy", {nq, 0}).empty());
}

// Runs `args`, expects `code` and a message on stderr containing each of `parts`.
void expect_failure(const std::vector<std::string>& args, int code,
                    const std::vector<std::string>& parts) {
  const CliResult r = run_cli(args);
  EXPECT_EQ(r.code, code) << r.err;
  for (const std::string& p : parts) EXPECT_NE(r.err.find(p), std::string::npos) << r.err;
}

TEST_F(Commands, InputErrorsNameTheFileAndTheExpectation) {
  const std::string qf = dir.file("q.npy"), df = dir.file("d.npy"), s = dir.file("s.npy");
  save(dir.file("rank2.npy"), NpyType::float32, {4, 8}, std::vector<float>(32));
  save(dir.file("dim4.npy"), NpyType::float32, {2, 3, 4}, std::vector<float>(24));
  save(dir.file("ints.npy"), NpyType::int64, {2, 3, 8}, std::vector<int64_t>(48));
  save(dir.file("badmask.npy"), NpyType::boolean, {3, 4}, std::vector<uint8_t>(12));
  save(dir.file("cand.npy"), NpyType::float32, {2, 1, 1, 8}, std::vector<float>(16));
  {
    std::ofstream f(dir.file("junk.npy"));
    f << "not numpy";
  }
  expect_failure({"score", "--queries", dir.file("missing.npy"), "--docs", df, "--out", s}, 1,
                 {"colmax score: error: ", "missing.npy: cannot open"});
  expect_failure({"score", "--queries", dir.file("junk.npy"), "--docs", df, "--out", s}, 1,
                 {"junk.npy: not a .npy file"});
  expect_failure({"score", "--queries", dir.file("rank2.npy"), "--docs", df, "--out", s}, 1,
                 {"--queries ", "rank2.npy: expected an array [Nq, Lq, dim], got 2-d [4, 8]"});
  expect_failure({"score", "--queries", qf, "--docs", dir.file("dim4.npy"), "--out", s}, 1,
                 {"dim4.npy: embedding dim 4 differs from the queries' 8"});
  expect_failure({"score", "--queries", qf, "--docs", dir.file("ints.npy"), "--out", s}, 1,
                 {"ints.npy: expected float32, float16 or bfloat16 embeddings", "got int64"});
  expect_failure(
      {"score", "--queries", qf, "--docs", df, "--query-mask", dir.file("badmask.npy"), "--out", s},
      1, {"badmask.npy: expected a mask of shape [3, 5]", "got [3, 4]"});
  expect_failure({"score", "--queries", qf, "--docs", dir.file("cand.npy"), "--out", s}, 1,
                 {"cand.npy: 4-d documents [Nq, K, Ld, dim] need Nq = 3"});
  expect_failure({"topk", "--queries", qf, "--docs", dir.file("cand.npy"), "--k", "2",
                  "--out-scores", s, "--out-indices", s},
                 1, {"cand.npy: expected an array [Nd, Ld, dim], got 4-d"});
  expect_failure({"score", "--queries", qf, "--docs", df, "--out", dir.file("no/such/dir/s.npy")},
                 1, {"cannot write"});
  if (!cuda_built()) {
    expect_failure(score_args({"--device", "cuda"}), 1, {"built without CUDA"});
    expect_failure({"demo", "--device", "cuda"}, 1, {"colmax demo: error: ", "built without CUDA"});
  }
}

TEST_F(Commands, UsageErrorsExitWithTwo) {
  expect_failure({"score", "--queries", dir.file("q.npy"), "--docs", dir.file("d.npy")}, 2,
                 {"colmax score: --out FILE is required", "colmax score --help"});
  expect_failure(score_args({"--bogus"}), 2, {"unknown option --bogus"});
  expect_failure(score_args({"--mask-mode", "max"}), 2, {"expected one of exclude, zero"});
  expect_failure({"topk", "--queries", dir.file("q.npy"), "--docs", dir.file("d.npy"),
                  "--out-scores", "a", "--out-indices", "b"},
                 2, {"--k K is required"});
  expect_failure({"topk", "--k", "-1"}, 2, {"--k: expected an integer >= 0"});
  expect_failure({"frobnicate"}, 2, {"unknown command 'frobnicate'", "usage: colmax"});
  expect_failure({}, 2, {"usage: colmax <command>"});
  expect_failure({"bench", "--shape", "nope"}, 2, {"unknown shape 'nope'"});
  expect_failure({"bench", "--ld", "9..3"}, 2, {"--ld: expected 0 <= MIN <= MAX"});
  expect_failure({"demo", "--docs", "0"}, 2, {"--docs: expected an integer >= 1"});
}

TEST(CommandsHelp, EveryCommandHasHelp) {
  for (const char* c : {"demo", "score", "topk", "bench", "info"}) {
    const CliResult r = run_cli({c, "--help"});
    EXPECT_EQ(r.code, 0) << c;
    EXPECT_NE(r.out.find(std::string("usage: colmax ") + c), std::string::npos) << r.out;
  }
  const CliResult top = run_cli({"--help"});
  EXPECT_EQ(top.code, 0);
  for (const char* c : {"demo", "score", "topk", "bench", "info"}) {
    EXPECT_NE(top.out.find(std::string("  ") + c), std::string::npos) << c;
  }
  EXPECT_EQ(run_cli({"--version"}).out, std::string("colmax ") + version() + "\n");
}

TEST(CommandsInfo, Runs) {
  const CliResult r = run_cli({"info"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(std::string("colmax ") + version()), std::string::npos);
  EXPECT_NE(r.out.find("cpu simd:     " + cpu_simd_level()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu threads:  "), std::string::npos);
  EXPECT_NE(r.out.find("cuda:"), std::string::npos);
  EXPECT_NE(r.out.find("gpus:"), std::string::npos);
}

TEST(CommandsDemo, SmallRunPassesItsSelfCheck) {
  const CliResult r = run_cli({"demo", "--docs", "300", "--queries", "3", "--naive-docs", "20",
                               "--device", "cpu", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  for (const char* part :
       {"corpus   300 documents", "queries  3 x 32 tokens", "top-10", "documents/s", "GFLOP/s",
        "check    ", ": ok", "naive    ", "extrapolated", "speedup  ", "x over naive",
        "query 0 (planted", "self-check passed"}) {
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  }
  EXPECT_EQ(r.err, "");  // no progress bar when stderr is not a terminal
}

TEST(CommandsDemo, OddSizesWork) {
  // dim not a multiple of 8, k above the corpus size, documents of one token.
  const CliResult r =
      run_cli({"demo", "--docs", "7", "--queries", "2", "--dim", "13", "--k", "20", "--min-len",
               "1", "--max-len", "1", "--query-len", "3", "--naive-docs", "3", "--device", "cpu"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("self-check passed"), std::string::npos) << r.out;
}

TEST(CommandsBench, TinyCustomShapeAsJsonAndTable) {
  const CliResult j =
      run_cli({"bench", "--nq", "2", "--nd", "20", "--lq", "4", "--ld", "8", "--dim", "16",
               "--min-runs", "3", "--min-time", "0", "--json", "--device", "cpu"});
  ASSERT_EQ(j.code, 0) << j.err;
  for (const char* part : {"\"colmax\": ", "\"results\": [", "\"shape\": \"custom-2x20x4x8-dim16\"",
                           "\"layout\": \"cross\"", "\"runs\": ", "\"median_ms\": ", "\"gflops\": ",
                           "\"dtype\": \"bfloat16\""}) {
    EXPECT_NE(j.out.find(part), std::string::npos) << part << "\n" << j.out;
  }
  const CliResult t =
      run_cli({"bench", "--nq", "1", "--nd", "10", "--lq", "3", "--ld", "2..9", "--dim", "8",
               "--dtype", "fp32", "--min-runs", "2", "--min-time", "0", "--device", "cpu"});
  ASSERT_EQ(t.code, 0) << t.err;
  EXPECT_NE(t.out.find("median ms"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("custom-1x10x3x2..9-dim8"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("packed"), std::string::npos) << t.out;
  const CliResult list = run_cli({"bench", "--list"});
  EXPECT_NE(list.out.find("rerank-1x1000x32x300"), std::string::npos);
}

}  // namespace
}  // namespace colmax::cli::test
