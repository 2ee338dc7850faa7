// Training (forward with winners, backward) on the random cases of cases.hpp: runs any
// backend through the public API and compares its winners and gradients with the float64
// reference.
#pragma once

#include <string>
#include <vector>

#include "support/cases.hpp"

namespace colmax::test {

// Width of the winners' last axis for a case: Lq (padded) or the longest query (packed).
int64_t winners_width(const Case& c);
std::vector<int64_t> winners_shape(const Case& c);

// A gradient tensor shaped like `input` (same dtype), strided like it when the case is
// strided, filled with a poison value that no backend may leave behind.
HostTensor make_grad_like(const HostTensor& input, bool strided, uint64_t seed);

// grad_out for a case: random values in [-1, 1] with a few exact zeros.
HostTensor make_grad_out(const Case& c, uint64_t seed);

// Every element of a (possibly strided) float tensor in logical row-major order, as double.
std::vector<double> read_logical(const HostTensor& t);
// Winners as int64, row-major.
std::vector<int64_t> read_winners(const HostTensor& w);

void run_forward(const Case& c, const Placer& place, const TensorView& out,
                 const TensorView& winners, const Options& options);
void run_backward(const Case& c, const Placer& place, const TensorView& grad_out,
                  const TensorView& winners, const TensorView& grad_Q, const TensorView& grad_D,
                  const Options& options, BackwardStrategy strategy);

struct ForwardResult {
  std::vector<float> scores;
  std::vector<int64_t> winners;
};
// Forward on the host with `backend` (reference or cpu), winners of `dtype`.
ForwardResult host_forward(const Case& c, Backend backend, DType winners_dtype = DType::int32,
                           int threads = 0);

struct Gradients {
  std::vector<double> dQ, dD;
};
// Backward on the host; `winners` empty means "absent" (recompute).
Gradients host_backward(const Case& c, Backend backend, const HostTensor& grad_out,
                        const std::vector<int64_t>& winners, int threads = 0,
                        BackwardStrategy strategy = BackwardStrategy::automatic);

// The float64 similarity of query token t and document token s for output o of the case
// (normalised when the case asks), read straight from the host tensors.
double similarity(const Case& c, int64_t o, int64_t t, int64_t s);

// "" when `got` winners agree with `want`: equal, or a near tie — both candidates' float64
// similarities within tol * scale of each other (a masked 0 counting as similarity 0 in zero
// mode). Otherwise a description of the first disagreement.
std::string compare_winners(const Case& c, const std::vector<int64_t>& got,
                            const std::vector<int64_t>& want, double tol);

// Gradients: NaN where and only where expected, and max |got - want| <= tol * max(1,
// max |want|).
std::string compare_gradients(const std::vector<double>& got, const std::vector<double>& want,
                              double tol);

// "" when every masked token (and every packed row outside all sequences) has exactly zero
// gradient in `g`; else the first offender.
std::string check_masked_zero(const Case& c, const Gradients& g);

// Tolerance for gradients: fp32 inputs 1e-5; 16-bit inputs or gradients 1e-2.
double gradient_tolerance(const CaseSpec& spec);

}  // namespace colmax::test
