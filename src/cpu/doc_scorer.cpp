#include "cpu/doc_scorer.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "colmax/error.hpp"
#include "cpu/simd_level.hpp"

namespace colmax::detail::cpu {
namespace {

// Cache budgets: a chunk of document rows and a block of query panels each fill about half
// of a 32 KiB L1 data cache; a cross-pairing query group stays within a 512 KiB L2.
constexpr int64_t kChunkBytes = 16 << 10;
constexpr int64_t kBlockBytes = 16 << 10;
constexpr int64_t kGroupBytes = 256 << 10;
constexpr int64_t kMaxChunkRows = 256;

int64_t round_down(int64_t x, int64_t to) {
  return std::max(to, x / to * to);
}

}  // namespace

Plan make_plan(const Problem& p) {
  const SimdLevel level = active_simd_level();
  const bool bf16 = p.q.dtype == DType::bfloat16 && p.d.dtype == DType::bfloat16;
  const KernelSet* ks = bf16 ? find_kernels(level, KernelFormat::bf16_pairs) : nullptr;
  if (ks == nullptr) ks = find_kernels(level, KernelFormat::f32);
  if (ks == nullptr) {
    throw Error(ErrorKind::runtime, std::string("colmax cpu engine: no kernels for SIMD level ") +
                                        simd_level_name(level));
  }
  Plan plan;
  plan.problem = &p;
  plan.kernels = ks;
  const int64_t dim = p.q.dim;
  const int64_t elem = ks->format == KernelFormat::bf16_pairs ? 2 : 4;
  plan.convert_docs = ks->format == KernelFormat::f32 && p.d.dtype != DType::float32;
  const int64_t row_bytes = dim * elem;
  plan.chunk_rows =
      round_down(std::clamp<int64_t>(kChunkBytes / row_bytes, 4 * ks->tile_rows, kMaxChunkRows),
                 ks->tile_rows);
  const int64_t ksteps = (dim + ks->pack - 1) / ks->pack;
  const int64_t vector_bytes = int64_t(ks->lanes) * ks->pack * elem * ksteps;
  plan.block_vectors = round_down(kBlockBytes / vector_bytes, ks->panel_vectors);
  plan.group_lanes = std::max<int64_t>(int64_t(ks->lanes) * ks->panel_vectors,
                                       kGroupBytes / (ksteps * ks->pack * elem));
  plan.converted_stride = (dim + 15) / 16 * 16;
  return plan;
}

void use_queries(const Plan& plan, Scratch& s, int64_t first, int64_t count) {
  if (s.has_group && s.group.first == first && s.group.count == count) return;
  const Problem& p = *plan.problem;
  pack_queries(p.q, first, count, p.options.normalize, *plan.kernels, s.group);
  s.has_group = true;
}

void score_document(const Plan& plan, Scratch& s, int64_t doc, float* scores, int64_t next_doc) {
  const Problem& p = *plan.problem;
  const KernelSet& ks = *plan.kernels;
  const QueryGroup& g = s.group;
  const SeqSet& D = p.d;
  const int64_t vectors = g.panels.vectors;
  if (vectors == 0) {  // no valid query token in the group: every score is an empty sum
    std::fill(scores, scores + g.count, 0.0f);
    return;
  }
  const int64_t lanes = vectors * ks.lanes;
  float* rmax = s.rmax.reserve(size_t(lanes));
  uint32_t* nan = s.nan.reserve(size_t(lanes));
  std::fill(rmax, rmax + lanes, -std::numeric_limits<float>::infinity());
  std::fill(nan, nan + lanes, 0u);

  // Rows are gathered into a window of chunk + lookahead pointers: the first `chunk` are
  // folded, the rest (the next chunk's first rows) are prefetched while this chunk computes.
  const int64_t chunk = plan.chunk_rows, lookahead = (kPrefetchTiles + 1) * ks.tile_rows;
  if (s.rows.size() < size_t(chunk + lookahead)) {
    s.rows.resize(size_t(chunk + lookahead));
    s.inv_norm.resize(size_t(chunk));
  }
  const void** window = s.rows.data();
  float* converted =
      plan.convert_docs ? s.converted.reserve(size_t(chunk * plan.converted_stride)) : nullptr;
  const bool normalize = p.options.normalize;
  const int64_t len = D.seq_length(doc);
  int64_t valid = 0, masked = 0, held = 0, j = 0;
  for (;;) {
    // Fill the window with the next valid rows.
    if (D.mask == nullptr) {
      const int64_t take = std::min(chunk + lookahead - held, len - j);
      for (int64_t i = 0; i < take; ++i) window[held + i] = D.token(doc, j + i);
      held += take;
      j += take;
    } else {
      for (; j < len && held < chunk + lookahead; ++j) {
        if (D.valid(doc, j)) {
          window[held++] = D.token(doc, j);
        } else {
          ++masked;
        }
      }
    }
    if (held == 0) break;
    const int64_t n = std::min(held, chunk);
    valid += n;
    RowsView rows{window, nullptr, n, 0};
    if (converted != nullptr) {  // the converted rows are in L1/L2 already: nothing to prefetch
      ks.to_f32(D.dtype, window, n, D.dim, converted, plan.converted_stride);
      for (int64_t i = 0; i < n; ++i) window[i] = converted + i * plan.converted_stride;
    } else if (held > n) {
      rows.ahead_count = held - n;
    } else if (next_doc >= 0 && D.seq_length(next_doc) > 0) {
      // The last chunk prefetches the next document's first rows (masked or not: only read).
      const int64_t ahead = std::min<int64_t>(lookahead, D.seq_length(next_doc));
      for (int64_t i = 0; i < ahead; ++i) window[n + i] = D.token(next_doc, i);
      rows.ahead_count = ahead;
    }
    if (normalize) {
      ks.inv_norms(window, n, D.dim, s.inv_norm.data());
      rows.inv_norm = s.inv_norm.data();
    }
    if (vectors > 0) {
      for (int64_t v = 0; v < vectors; v += plan.block_vectors) {
        ks.fold(g.panels, v, std::min(v + plan.block_vectors, vectors), rows, rmax, nan);
      }
    }
    // Slide the look-ahead rows to the front.
    held -= n;
    for (int64_t i = 0; i < held; ++i) window[i] = window[n + i];
  }

  const bool zero_floor = p.options.mask_mode == MaskMode::zero && masked > 0;
  const float qnan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 0; i < g.count; ++i) {
    if (valid == 0) {  // empty or fully masked document (masked tokens give 0 in zero mode too)
      scores[i] = 0.0f;
      continue;
    }
    float total = 0.0f;
    for (int64_t lane = g.lane_begin[size_t(i)]; lane < g.lane_begin[size_t(i + 1)]; ++lane) {
      float best = rmax[lane];
      if (normalize) best *= g.inv_norm[size_t(lane)];
      if (nan[lane] != 0 || std::isnan(best)) {
        total = qnan;
        break;
      }
      if (zero_floor) best = std::max(best, 0.0f);
      total += best;
    }
    scores[i] = total;
  }
}

}  // namespace colmax::detail::cpu
