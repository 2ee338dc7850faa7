// The lane layout of packed queries (kernel_api.hpp): every valid token in its lane, every
// other element zero, masked tokens dropped, inverse norms per lane.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "cpu/kernel_api.hpp"
#include "cpu/query_pack.hpp"
#include "seq_builder.hpp"

namespace colmax::test {
namespace {

using detail::cpu::KernelFormat;
using detail::cpu::KernelSet;
using detail::cpu::SimdLevel;

// Every built kernel table: packing is plain C++, so each layout is testable on any CPU.
std::vector<const KernelSet*> all_kernel_sets() {
  std::vector<const KernelSet*> sets;
  for (SimdLevel level : detail::cpu::kAllSimdLevels) {
    for (KernelFormat f : {KernelFormat::f32, KernelFormat::bf16_pairs}) {
      const KernelSet* k = detail::cpu::find_kernels(level, f);
      if (k != nullptr && k->level == level) sets.push_back(k);
    }
  }
  return sets;
}

TEST(QueryPack, LanesHoldTheValidTokensAndNothingElse) {
  std::mt19937_64 rng(11);
  for (const KernelSet* ks : all_kernel_sets()) {
    const bool bf16 = ks->format == KernelFormat::bf16_pairs;
    for (int trial = 0; trial < 40; ++trial) {
      const int64_t count = std::uniform_int_distribution<int64_t>(1, 5)(rng);
      const int64_t length = std::uniform_int_distribution<int64_t>(0, 40)(rng);
      const int64_t dim = std::vector<int64_t>{1, 2, 3, 17, 48, 100, 128}[size_t(trial % 7)];
      const double keep = trial % 3 == 0 ? 1.0 : 0.7;
      const DType dtype = bf16 ? DType::bfloat16 : (trial % 2 ? DType::float16 : DType::float32);
      OwnedSeqs q = make_seqs(dtype, count, length, dim, keep, rng);
      const int64_t first = count > 1 ? 1 : 0;
      detail::cpu::QueryGroup g;
      detail::cpu::pack_queries(q.set, first, count - first, true, *ks, g);

      // lane_begin follows the valid tokens
      ASSERT_EQ(int64_t(g.lane_begin.size()), count - first + 1);
      int64_t lanes = 0;
      for (int64_t i = first; i < count; ++i) {
        EXPECT_EQ(g.lane_begin[size_t(i - first)], lanes);
        lanes += detail::cpu::valid_tokens(q.set, i);
      }
      ASSERT_EQ(g.lanes(), lanes);
      const int64_t vectors = (lanes + ks->lanes - 1) / ks->lanes;
      ASSERT_EQ(g.panels.vectors, vectors);
      ASSERT_EQ(g.panels.ksteps, (dim + ks->pack - 1) / ks->pack);

      // The expected storage, element by element.
      const int64_t panels = (vectors + ks->panel_vectors - 1) / ks->panel_vectors;
      const int64_t total = panels * ks->panel_vectors * ks->lanes * ks->pack * g.panels.ksteps;
      std::vector<float> want(size_t(total), 0.0f);
      std::set<int64_t> used;
      int64_t lane = 0;
      for (int64_t i = first; i < count; ++i) {
        for (int64_t j = 0; j < length; ++j) {
          if (!q.set.valid(i, j)) continue;
          double n2 = 0;
          for (int64_t k = 0; k < dim; ++k) {
            const int64_t at = detail::cpu::panel_offset(*ks, g.panels.ksteps, vectors, lane, k);
            ASSERT_GE(at, 0);
            ASSERT_LT(at, total);
            ASSERT_TRUE(used.insert(at).second) << "two elements share offset " << at;
            const float v = q.values[size_t((i * length + j) * dim + k)];
            want[size_t(at)] = v;
            n2 += double(v) * v;
          }
          EXPECT_FLOAT_EQ(g.inv_norm[size_t(lane)], n2 > 0 ? float(1 / std::sqrt(n2)) : 1.0f);
          ++lane;
        }
      }
      for (int64_t at = 0; at < total; ++at) {
        float got;
        if (bf16) {
          uint16_t h;
          std::memcpy(&h, static_cast<const std::byte*>(g.panels.data) + 2 * at, 2);
          got = detail::bf16_to_float(h);
        } else {
          std::memcpy(&got, static_cast<const std::byte*>(g.panels.data) + 4 * at, 4);
        }
        ASSERT_EQ(got, want[size_t(at)]) << "element " << at << " of " << total << ", level "
                                         << detail::cpu::simd_level_name(ks->level);
      }
      // 64-byte alignment of the panels (aligned vector loads)
      EXPECT_EQ(reinterpret_cast<uintptr_t>(g.panels.data) % 64, 0u);
    }
  }
}

TEST(QueryPack, WithoutNormalizeThereAreNoScales) {
  std::mt19937_64 rng(3);
  OwnedSeqs q = make_seqs(DType::float32, 2, 5, 8, 1.0, rng);
  detail::cpu::QueryGroup g;
  detail::cpu::pack_queries(q.set, 0, 2, false, detail::cpu::kScalarF32Kernels, g);
  EXPECT_TRUE(g.inv_norm.empty());
  EXPECT_EQ(g.lanes(), 10);
}

}  // namespace
}  // namespace colmax::test
