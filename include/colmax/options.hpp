// colmax/options.hpp — how a MaxSim call treats masks, precision and where it runs.
#pragma once

#include <cstddef>

#include "colmax/tensor.hpp"

namespace colmax {

// How masked tokens enter the score.
enum class MaskMode : uint8_t {
  // Default. A masked query token adds 0; a masked document token never wins the max; a
  // query token with no valid document token adds 0 (an empty or fully masked document
  // scores 0). Same as late-interaction-kernels.
  exclude,
  // PyLate's einsum semantics: the similarity at a masked position becomes 0 and takes part
  // in the max, so a query token scores max(0, best valid) whenever any document token is
  // masked. colpali-engine's zero-padding gives the same numbers.
  zero,
};

// How float32 inputs are multiplied on tensor-core GPUs. CPUs always compute in fp32.
enum class Fp32Precision : uint8_t {
  exact,  // fp32 products and sums (relative error ~1e-6)
  tf32,   // TensorFloat-32 tensor cores: faster, relative error ~1e-3
};

enum class Backend : uint8_t {
  automatic,  // the device the tensors live on
  cpu,        // the SIMD CPU engine
  cuda,       // the CUDA kernels
  reference,  // float64 loops on the CPU: slow and obviously right; for tests
};

// Caller-provided scratch memory for calls that need it on CUDA (retrieve, backward). When
// absent, colmax keeps a cached pool per device that only grows.
struct Workspace {
  void* data = nullptr;
  size_t bytes = 0;
};

struct Options {
  MaskMode mask_mode = MaskMode::exclude;
  // L2-normalise every query and document token before scoring (fused; a zero vector stays
  // zero and never produces NaN).
  bool normalize = false;
  Fp32Precision fp32_precision = Fp32Precision::exact;
  Backend backend = Backend::automatic;
  // CPU worker threads; 0 uses colmax::default_num_threads(). Results are bitwise identical
  // for every thread count.
  int num_threads = 0;
  // CUDA stream (a cudaStream_t) the work is enqueued on; nullptr is the default stream.
  void* stream = nullptr;
  Workspace workspace{};
};

// Optional 0/1 masks over token positions. bool, uint8, int8, int32, int64, float16,
// bfloat16 and float32 masks are accepted; any non-zero value means "valid". Any pattern is
// allowed (holes, not just right padding). An absent view means every token is valid.
struct Masks {
  TensorView query;     // matches the query token dimensions ([Nq, Lq] or [Tq] when packed)
  TensorView document;  // matches the document token dimensions ([Nd, Ld], [Nq, K, Ld], [Td])
};

}  // namespace colmax
