// .npy arrays as colmax tensors: embedding dtypes, ranks, masks of every dtype, shape errors.
#include "inputs.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <sstream>

namespace colmax::cli {
namespace {

template <class T>
NpyArray array(NpyType type, std::vector<int64_t> shape, std::vector<T> values) {
  NpyArray a;
  a.type = type;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

std::string input_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Inputs, EmbeddingDtypes) {
  std::ostringstream notes;
  const auto f4 = embeddings_from_npy(array<float>(NpyType::float32, {1, 1, 2}, {1, 2}), "q", {3},
                                      "[Nq, Lq, dim]", false, notes);
  EXPECT_EQ(f4.dtype, DType::float32);
  EXPECT_EQ(f4.view().rank(), 3);
  const auto f2 = embeddings_from_npy(array<uint16_t>(NpyType::float16, {1, 1, 2}, {0x3c00, 0}),
                                      "q", {3}, "", false, notes);
  EXPECT_EQ(f2.dtype, DType::float16);
  const auto bf = embeddings_from_npy(array<uint16_t>(NpyType::uint16, {1, 1, 2}, {0x3f80, 0}), "q",
                                      {3}, "", true, notes);
  EXPECT_EQ(bf.dtype, DType::bfloat16);
  const auto v2 = embeddings_from_npy(array<uint16_t>(NpyType::void16, {1, 1, 2}, {0x3f80, 0}), "q",
                                      {3}, "", true, notes);
  EXPECT_EQ(v2.dtype, DType::bfloat16);
  EXPECT_TRUE(notes.str().empty());
  const auto f8 = embeddings_from_npy(array<double>(NpyType::float64, {1, 1, 2}, {0.5, -2}),
                                      "--queries q.npy", {3}, "", false, notes);
  EXPECT_EQ(f8.dtype, DType::float32);
  float back[2];
  std::memcpy(back, f8.data.data(), 8);
  EXPECT_EQ(back[0], 0.5f);
  EXPECT_EQ(back[1], -2.0f);
  EXPECT_NE(notes.str().find("--queries q.npy is float64; converted to float32"),
            std::string::npos);
}

TEST(Inputs, EmbeddingErrors) {
  std::ostringstream notes;
  EXPECT_NE(input_error([&] {
              embeddings_from_npy(array<float>(NpyType::float32, {2, 2}, {1, 2, 3, 4}),
                                  "--docs d.npy", {3}, "[Nd, Ld, dim]", false, notes);
            }).find("--docs d.npy: expected an array [Nd, Ld, dim], got 2-d [2, 2]"),
            std::string::npos);
  EXPECT_NE(input_error([&] {
              embeddings_from_npy(array<uint16_t>(NpyType::uint16, {1, 1, 1}, {1}), "--docs d.npy",
                                  {3}, "", false, notes);
            }).find("pass --bf16"),
            std::string::npos);
  EXPECT_NE(input_error([&] {
              embeddings_from_npy(array<int32_t>(NpyType::int32, {1, 1, 1}, {1}), "--docs d.npy",
                                  {3}, "", true, notes);
            }).find("expected float32, float16 or bfloat16 embeddings"),
            std::string::npos);
  EXPECT_NE(input_error([&] {
              embeddings_from_npy(array<float>(NpyType::float32, {1, 1, 0}, {}), "--docs d.npy",
                                  {3}, "", false, notes);
            }).find("embedding dimension (last axis) is 0"),
            std::string::npos);
}

TEST(Inputs, MasksOfEveryDtypeBecomeZeroOrOne) {
  const std::vector<int64_t> shape{1, 4};
  const std::vector<std::byte> want{std::byte(0), std::byte(1), std::byte(0), std::byte(1)};
  const auto check = [&](const NpyArray& a) {
    const HostTensor m = mask_from_npy(a, "--doc-mask m.npy", shape, "");
    EXPECT_EQ(m.dtype, DType::uint8);
    EXPECT_EQ(m.data, want) << npy_type_name(a.type);
  };
  check(array<uint8_t>(NpyType::boolean, shape, {0, 1, 0, 1}));
  check(array<uint8_t>(NpyType::uint8, shape, {0, 7, 0, 255}));
  check(array<int8_t>(NpyType::int8, shape, {0, -1, 0, 1}));
  check(array<int16_t>(NpyType::int16, shape, {0, 300, 0, -2}));
  check(array<uint16_t>(NpyType::uint16, shape, {0, 1, 0, 1}));
  check(array<int32_t>(NpyType::int32, shape, {0, 1, 0, -5}));
  check(array<uint32_t>(NpyType::uint32, shape, {0, 1, 0, 1}));
  check(array<int64_t>(NpyType::int64, shape, {0, 1, 0, int64_t(1) << 40}));
  check(array<uint64_t>(NpyType::uint64, shape, {0, 1, 0, 1}));
  check(array<float>(NpyType::float32, shape, {0.0f, 0.5f, -0.0f, 1.0f}));
  check(array<double>(NpyType::float64, shape, {0.0, 1.0, -0.0, 1e-300}));
  check(array<uint16_t>(NpyType::float16, shape, {0x0000, 0x3c00, 0x8000, 0x0001}));
}

TEST(Inputs, MaskErrors) {
  const std::vector<int64_t> shape{2, 3};
  EXPECT_NE(input_error([&] {
              mask_from_npy(array<uint8_t>(NpyType::boolean, {2, 2}, {1, 1, 1, 1}),
                            "--query-mask m.npy", shape, "[Nq, Lq] of the queries");
            })
                .find("--query-mask m.npy: expected a mask of shape [2, 3] ([Nq, Lq] of the "
                      "queries), got [2, 2]"),
            std::string::npos);
  EXPECT_NE(input_error([&] {
              mask_from_npy(array<uint16_t>(NpyType::void16, shape, {1, 1, 1, 1, 1, 1}),
                            "--query-mask m.npy", shape, "");
            }).find("got void16"),
            std::string::npos);
}

}  // namespace
}  // namespace colmax::cli
