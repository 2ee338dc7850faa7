// Scoring one document against a packed query group: the engine's unit of work.
//
// A document is walked in chunks of its valid rows. Rows already in the kernel's format are
// used in place (masked rows are skipped by leaving them out of the row list); rows of
// another dtype are converted into a per-thread buffer that stays in L1/L2. When normalising,
// each row's inverse norm scales its similarities inside the kernel. The kernels fold every
// chunk into a running max per query lane; at the end of the document each query's lanes are
// summed in lane order, so a score depends on nothing but its own query and document.
#pragma once

#include <cstdint>
#include <vector>

#include "core/problem.hpp"
#include "cpu/aligned_buffer.hpp"
#include "cpu/kernel_api.hpp"
#include "cpu/query_pack.hpp"

namespace colmax::detail::cpu {

// What a call shares across threads: the kernels and the blocking.
struct Plan {
  const Problem* problem = nullptr;
  const KernelSet* kernels = nullptr;
  bool convert_docs = false;  // document rows must be converted to fp32 first
  int64_t chunk_rows = 0;     // valid document rows gathered per chunk (multiple of tile_rows)
  int64_t block_vectors = 0;  // query vectors per cache block (multiple of panel_vectors)
  int64_t group_lanes = 0;    // most query lanes packed together (cross pairing)
  int64_t converted_stride = 0;
};

// Chooses the kernels (active SIMD level; bf16 pairs when both sides are bf16 and the CPU
// has AVX512-BF16) and the cache blocking for a problem.
Plan make_plan(const Problem& p);

// Per-thread scratch: the packed query group and the document buffers.
struct Scratch {
  QueryGroup group;
  bool has_group = false;
  std::vector<const void*> rows;
  std::vector<float> inv_norm;
  AlignedBuffer<float> converted, rmax;
  AlignedBuffer<uint32_t> nan;
};

// Packs queries [first, first + count) into s.group unless they are packed there already.
void use_queries(const Plan& plan, Scratch& s, int64_t first, int64_t count);

// scores[i] = MaxSim of query s.group.first + i with document `doc`, for i < s.group.count.
// `next_doc` (or -1) is the document this thread scores next: its first rows are prefetched.
void score_document(const Plan& plan, Scratch& s, int64_t doc, float* scores,
                    int64_t next_doc = -1);

}  // namespace colmax::detail::cpu
