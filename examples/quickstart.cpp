// The README's C++ quick start, built with the project so that it stays true.
#include <colmax/colmax.hpp>

#include <cstdio>
#include <random>
#include <vector>

int main() {
  const int64_t Nq = 2, Nd = 100, Lq = 32, Ld = 300, dim = 128;
  std::vector<float> q(Nq * Lq * dim), d(Nd * Ld * dim), scores(Nq * Nd);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (float& x : q) x = normal(rng);
  for (float& x : d) x = normal(rng);

  colmax::Options opt;
  opt.normalize = true;  // fused L2 normalisation
  colmax::maxsim(colmax::TensorView(q.data(), colmax::DType::float32, {Nq, Lq, dim}),
                 colmax::TensorView(d.data(), colmax::DType::float32, {Nd, Ld, dim}),
                 colmax::TensorView(scores.data(), colmax::DType::float32, {Nq, Nd}), {}, opt);

  std::vector<float> top(Nq * 3);
  std::vector<int64_t> ids(Nq * 3);
  colmax::retrieve(colmax::TensorView(q.data(), colmax::DType::float32, {Nq, Lq, dim}),
                   colmax::TensorView(d.data(), colmax::DType::float32, {Nd, Ld, dim}), 3,
                   colmax::TensorView(top.data(), colmax::DType::float32, {Nq, 3}),
                   colmax::TensorView(ids.data(), colmax::DType::int64, {Nq, 3}), {}, opt);
  for (int64_t i = 0; i < Nq; ++i) {
    std::printf("query %lld: best documents %lld (%.3f), %lld (%.3f), %lld (%.3f)\n",
                static_cast<long long>(i), static_cast<long long>(ids[i * 3]), top[i * 3],
                static_cast<long long>(ids[i * 3 + 1]), top[i * 3 + 1],
                static_cast<long long>(ids[i * 3 + 2]), top[i * 3 + 2]);
  }
  return 0;
}
