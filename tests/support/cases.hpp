// Random MaxSim problems of every layout, for comparing a backend against the reference.
//
// A Case owns host tensors (queries, documents, offsets, pairs, masks) built from a seed.
// Padding and masked tokens are filled with NaN and huge values so that a backend reading a
// masked token is caught. Tests run a Case through the public API on any backend, placing the
// tensors on the device under test through a `Placer`.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "colmax/colmax.hpp"

namespace colmax::test {

struct HostTensor {
  std::vector<std::byte> bytes;
  DType dtype = DType::float32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // elements
  int64_t offset = 0;            // elements from bytes.data() to element 0
  bool present = false;

  TensorView view() const;  // CPU view of the host bytes (absent if !present)
  int64_t numel() const;
};

// Host tensor helpers.
HostTensor make_tensor(DType dtype, std::vector<int64_t> shape);
void set_value(HostTensor& t, int64_t flat_offset_elems, double v);  // at element offset
std::vector<float> read_floats(const HostTensor& t);                 // contiguous float32 only

// Moves a host tensor to the device under test and returns a view of it there (the CPU
// placer returns the host view; a CUDA placer copies and keeps the allocation alive).
using Placer = std::function<TensorView(const HostTensor&)>;
TensorView place_on_host(const HostTensor& t);

enum class Layout { cross, candidates, pairs, packed, packed_pairs };
enum class MaskKind { none, padding, holes, fully_masked };

const char* layout_name(Layout l);

struct CaseSpec {
  Layout layout = Layout::cross;
  int64_t nq = 1;  // queries (B for pairs)
  int64_t nd = 1;  // documents (K for candidates)
  int64_t np = 0;  // pairs (packed pairs only)
  int64_t lq_min = 1, lq_max = 1;
  int64_t ld_min = 1, ld_max = 1;
  int64_t dim = 8;
  DType q_dtype = DType::float32, d_dtype = DType::float32;
  MaskKind q_mask = MaskKind::none, d_mask = MaskKind::none;
  DType mask_dtype = DType::boolean;
  MaskMode mode = MaskMode::exclude;
  bool normalize = false;
  bool strided = false;   // padded Q and D viewed through non-contiguous token strides
  int nan_tokens = 0;     // valid tokens poisoned with a NaN element
  bool negative = false;  // queries in [0, 1], documents in [-1, 0]: every similarity <= 0
  uint64_t seed = 1;

  std::string describe() const;
};

// A random spec from the sweep distribution (dims, lengths, masks, modes, dtypes), small
// enough for the float64 reference.
CaseSpec random_spec(std::mt19937_64& rng, uint64_t seed);

// Fixed shapes a random sweep might miss (Lq = 1, Ld = 1, empty batches, Lq = 0, Ld = 0, fully
// masked documents in both modes, odd dims, NaN tokens, long documents) for every layout and
// dtype, with fixed seeds. `gpu_extras` adds the cases that stress the CUDA tiles (embeddings
// longer than one k-chunk, many short stacked queries).
std::vector<CaseSpec> edge_specs(bool gpu_extras);

struct Case {
  CaseSpec spec;
  HostTensor Q, D, cu_q, cu_d, pair_q, pair_d, q_mask, d_mask;
  std::vector<int64_t> out_shape;
  Options options() const;
};

Case make_case(const CaseSpec& spec);

// Runs the case through the public API with `options` on tensors placed by `place`; `out`
// must already be placed (and poisoned) by the caller.
void run_case(const Case& c, const Placer& place, const TensorView& out, const Options& options);

// Runs the case on the reference backend (host) and returns its scores.
std::vector<float> reference_scores(const Case& c);

// Scores from `got` vs `want`: NaN where and only where expected, and
// max|got - want| <= tol * max(1, max|want|). Returns "" when they agree, else a description.
std::string compare_scores(const std::vector<float>& got, const std::vector<float>& want,
                           double tol);

// Tolerance for a case: 1e-5 for fp32 inputs on both sides, 1e-2 when either is 16-bit.
double tolerance(const CaseSpec& spec);

constexpr float kPoison = 1.0e30f;  // written into outputs before a run; never a valid score

}  // namespace colmax::test
