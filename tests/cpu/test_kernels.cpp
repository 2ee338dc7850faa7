// Each level's kernels on their own, against float64 arithmetic: every register-tile shape
// (query vectors 1..M x rows 1..N), odd dims, unaligned and strided rows, inverse-norm
// scaling, NaN flags, block boundaries; row conversion and norms. Levels this CPU lacks are
// skipped (and named).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/scalar.hpp"
#include "cpu/aligned_buffer.hpp"
#include "cpu/kernel_api.hpp"
#include "cpu/query_pack.hpp"
#include "level_guard.hpp"
#include "seq_builder.hpp"

namespace colmax::test {
namespace {

using detail::cpu::KernelFormat;
using detail::cpu::KernelSet;
using detail::cpu::SimdLevel;

class Kernels : public testing::TestWithParam<SimdLevel> {};

// The kernel tables of a level: fp32, and bf16 pairs where the level has them.
std::vector<const KernelSet*> sets_of(SimdLevel level) {
  std::vector<const KernelSet*> sets;
  for (KernelFormat f : {KernelFormat::f32, KernelFormat::bf16_pairs}) {
    const KernelSet* k = detail::cpu::find_kernels(level, f);
    if (k != nullptr) sets.push_back(k);
  }
  return sets;
}

template <class T>
T pick(std::mt19937_64& rng, std::initializer_list<T> v) {
  return *(v.begin() + std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng));
}

TEST_P(Kernels, FoldMatchesFloat64) {
  COLMAX_REQUIRE_LEVEL(GetParam());
  std::mt19937_64 rng(100 + uint64_t(GetParam()));
  for (const KernelSet* ks : sets_of(GetParam())) {
    const bool bf16 = ks->format == KernelFormat::bf16_pairs;
    const DType dtype = bf16 ? DType::bfloat16 : DType::float32;
    const int esize = bf16 ? 2 : 4;
    const int64_t W = ks->lanes, M = ks->panel_vectors, N = ks->tile_rows;
    for (int trial = 0; trial < 300; ++trial) {
      const int64_t dim = pick<int64_t>(rng, {1, 2, 3, 7, 16, 17, 31, 33, 64, 100, 128, 130});
      const int64_t lanes = std::uniform_int_distribution<int64_t>(1, 3 * M * W + 3)(rng);
      const int64_t nrows = std::uniform_int_distribution<int64_t>(1, 3 * N + 2)(rng);
      OwnedSeqs q = make_seqs(dtype, 1, lanes, dim, 1.0, rng);
      detail::cpu::QueryGroup g;
      detail::cpu::pack_queries(q.set, 0, 1, false, *ks, g);
      const int64_t vectors = g.panels.vectors;

      // Rows at a random stride and start: only element alignment is guaranteed.
      const int64_t stride = dim + std::uniform_int_distribution<int64_t>(0, 5)(rng);
      const int64_t offset = std::uniform_int_distribution<int64_t>(0, 15)(rng);
      OwnedSeqs d = make_seqs(dtype, 1, nrows * stride + offset + 1, 1, 1.0, rng);
      std::vector<const void*> rows(static_cast<size_t>(nrows));
      for (int64_t r = 0; r < nrows; ++r)
        rows[size_t(r)] = d.data.data() + (offset + r * stride) * esize;
      auto value = [&](int64_t r, int64_t k) { return d.values[size_t(offset + r * stride + k)]; };
      const bool poison = trial % 7 == 3;  // a NaN in one row element
      const int64_t nan_row = std::uniform_int_distribution<int64_t>(0, nrows - 1)(rng);
      const int64_t nan_k = std::uniform_int_distribution<int64_t>(0, dim - 1)(rng);
      if (poison) {
        std::byte* p = d.data.data() + (offset + nan_row * stride + nan_k) * esize;
        if (bf16) {
          const uint16_t h = 0x7fc0;
          std::memcpy(p, &h, 2);
        } else {
          const float f = std::numeric_limits<float>::quiet_NaN();
          std::memcpy(p, &f, 4);
        }
      }
      std::vector<float> inv(static_cast<size_t>(nrows));
      for (float& s : inv) s = std::uniform_real_distribution<float>(0.1f, 2.0f)(rng);
      const bool scaled = trial % 2 == 0;

      // A block [v0, v1) of whole panels; lanes outside it must stay untouched.
      const int64_t panels = (vectors + M - 1) / M;
      const int64_t p0 = std::uniform_int_distribution<int64_t>(0, panels - 1)(rng);
      const int64_t p1 = std::uniform_int_distribution<int64_t>(p0 + 1, panels)(rng);
      const int64_t v0 = p0 * M, v1 = std::min(vectors, p1 * M);
      detail::cpu::AlignedBuffer<float> rmax;
      detail::cpu::AlignedBuffer<uint32_t> nan;
      rmax.reserve(size_t(vectors * W));
      nan.reserve(size_t(vectors * W));
      std::vector<float> init(size_t(vectors * W));
      for (int64_t l = 0; l < vectors * W; ++l) {
        init[size_t(l)] = l % 5 == 0 ? -std::numeric_limits<float>::infinity()
                                     : std::uniform_real_distribution<float>(-3, 3)(rng);
        rmax.data()[l] = init[size_t(l)];
        nan.data()[l] = 0;
      }
      const detail::cpu::RowsView view{rows.data(), scaled ? inv.data() : nullptr, nrows, 0};
      ks->fold(g.panels, v0, v1, view, rmax.data(), nan.data());

      for (int64_t l = 0; l < vectors * W; ++l) {
        const bool inside = l >= v0 * W && l < v1 * W;
        if (!inside || l >= lanes) {
          if (!inside) {
            ASSERT_EQ(rmax.data()[l], init[size_t(l)]) << "lane " << l << " outside the block";
            ASSERT_EQ(nan.data()[l], 0u);
          }
          continue;
        }
        double best = init[size_t(l)], bound = 0;
        bool any_nan = false;
        for (int64_t r = 0; r < nrows; ++r) {
          double dot = 0, mag = 0;
          for (int64_t k = 0; k < dim; ++k) {
            const double a = q.values[size_t(l * dim + k)];
            const double b = poison && r == nan_row && k == nan_k ? NAN : value(r, k);
            dot += a * b;
            mag += std::fabs(a * b);
          }
          const double s = scaled ? inv[size_t(r)] : 1.0;
          if (std::isnan(dot)) {
            any_nan = true;
            continue;
          }
          best = std::max(best, dot * s);
          bound = std::max(bound, mag * s);
        }
        ASSERT_EQ(nan.data()[l] != 0, any_nan)
            << "lane " << l << " dim " << dim << " rows " << nrows << " level "
            << detail::cpu::simd_level_name(ks->level);
        if (!any_nan) {
          // worst-case rounding of a dim-term sum (separate multiply and add on the scalar level)
          ASSERT_NEAR(rmax.data()[l], best, double(2 * dim + 4) * 0x1p-24 * bound + 1e-30)
              << "lane " << l << " of " << lanes << ", dim " << dim << ", rows " << nrows
              << ", block [" << v0 << ", " << v1 << "), level "
              << detail::cpu::simd_level_name(ks->level) << (bf16 ? " bf16" : " f32");
        }
      }
    }
  }
}

TEST_P(Kernels, RowConversionIsExact) {
  COLMAX_REQUIRE_LEVEL(GetParam());
  const KernelSet* ks = detail::cpu::find_kernels(GetParam(), KernelFormat::f32);
  ASSERT_NE(ks, nullptr);
  // Every 16-bit pattern, in rows of awkward lengths.
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = uint16_t(i);
  for (DType dt : {DType::float16, DType::bfloat16}) {
    for (int64_t dim : {1, 7, 8, 15, 16, 17, 100, 128}) {
      const int64_t nrows = int64_t(all.size()) / dim;
      const int64_t stride = (dim + 15) / 16 * 16;
      detail::cpu::AlignedBuffer<float> out;
      out.reserve(size_t(nrows * stride));
      std::vector<const void*> rows(static_cast<size_t>(nrows));
      for (int64_t r = 0; r < nrows; ++r) rows[size_t(r)] = &all[size_t(r * dim)];
      ks->to_f32(dt, rows.data(), nrows, dim, out.data(), stride);
      for (int64_t r = 0; r < nrows; ++r) {
        for (int64_t k = 0; k < dim; ++k) {
          const uint16_t h = all[size_t(r * dim + k)];
          const float want =
              dt == DType::float16 ? detail::half_to_float(h) : detail::bf16_to_float(h);
          const float got = out.data()[r * stride + k];
          if (std::isnan(want)) {
            ASSERT_TRUE(std::isnan(got)) << std::hex << h;
          } else {
            ASSERT_EQ(std::memcmp(&got, &want, 4), 0) << dtype_name(dt) << " 0x" << std::hex << h;
          }
        }
      }
    }
  }
}

TEST_P(Kernels, InverseNormsFollowTheReference) {
  COLMAX_REQUIRE_LEVEL(GetParam());
  for (const KernelSet* ks : sets_of(GetParam())) {
    const bool bf16 = ks->format == KernelFormat::bf16_pairs;
    for (int64_t dim : {1, 3, 16, 17, 128, 130}) {
      // ordinary, zero, tiny (fp32 squares underflow), huge (overflow), NaN, inf rows
      const std::vector<float> scale = {1.0f, 0.0f, 1e-25f, 1e25f, NAN, INFINITY};
      std::vector<std::vector<std::byte>> storage;
      std::vector<const void*> rows;
      std::vector<std::vector<double>> values;
      std::mt19937_64 rng{uint64_t(dim)};
      for (float s : scale) {
        std::vector<double> v(static_cast<size_t>(dim));
        std::vector<std::byte> bytes(size_t(dim) * (bf16 ? 2 : 4) + 4);
        for (int64_t k = 0; k < dim; ++k) {
          float x = std::uniform_real_distribution<float>(-1, 1)(rng) * s;
          if (std::isinf(s) && k > 0) x = 1.0f;  // one infinite element
          if (std::isnan(s) && k > 0) x = 0.5f;  // one NaN element
          if (bf16) {
            const uint16_t h = detail::float_to_bf16(x);
            std::memcpy(bytes.data() + 2 * k, &h, 2);
            v[size_t(k)] = detail::bf16_to_float(h);
          } else {
            std::memcpy(bytes.data() + 4 * k, &x, 4);
            v[size_t(k)] = x;
          }
        }
        storage.push_back(std::move(bytes));
        values.push_back(v);
      }
      for (auto& b : storage) rows.push_back(b.data());
      std::vector<float> inv(rows.size());
      ks->inv_norms(rows.data(), int64_t(rows.size()), dim, inv.data());
      for (size_t i = 0; i < rows.size(); ++i) {
        double n2 = 0;
        for (double x : values[i]) n2 += x * x;
        const double want = n2 > 0 ? 1.0 / std::sqrt(n2) : 1.0;  // NaN: not > 0
        if (std::isnan(n2)) {
          EXPECT_EQ(inv[i], 1.0f) << "NaN row, dim " << dim;
        } else {
          EXPECT_NEAR(inv[i], want, 1e-6 * want)
              << "row " << i << " dim " << dim << (bf16 ? " bf16" : " f32");
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryLevel, Kernels, testing::ValuesIn(detail::cpu::kAllSimdLevels),
                         level_test_name);

}  // namespace
}  // namespace colmax::test
